"""Open311 GeoReport v2 over HTTP: `.json` or `.xml` on every resource, errors as the spec's list
of {code, description} with 400 / 403 / 404."""
from __future__ import annotations

import re
from typing import Any, Callable
from xml.sax.saxutils import escape

from chalice import Response

from chalicelib.domain.errors import DomainError
from chalicelib.domain.open311 import Open311Error

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")  # characters XML 1.0 cannot carry
_ROOTS = {"services": ("services", "service"), "requests": ("service_requests", "request"),
          "tokens": ("service_requests", "request"), "created": ("service_requests", "request"),
          "updates": ("service_request_updates", "request_update"), "errors": ("errors", "error")}


def split_format(segment: str) -> tuple[str, str]:
    """'services.json' -> ('services', 'json'). Raises Open311Error (404) for another format."""
    name, dot, fmt = segment.rpartition(".")
    if not dot or fmt not in ("json", "xml"):
        raise Open311Error(404, [("format", "Append .json or .xml to the resource / Thêm .json hoặc .xml")])
    return name, fmt


def _xml_value(name: str, value: Any) -> str:
    if value is None:
        return f"<{name}/>"
    if isinstance(value, bool):
        return f"<{name}>{str(value).lower()}</{name}>"
    if isinstance(value, dict):
        return f"<{name}>{''.join(_xml_value(k, v) for k, v in value.items())}</{name}>"
    if isinstance(value, list):
        singular = {"attributes": "attribute", "values": "value", "endpoints": "endpoint",
                    "formats": "format"}.get(name, "item")
        return f"<{name}>{''.join(_xml_value(singular, item) for item in value)}</{name}>"
    return f"<{name}>{escape(_XML_INVALID.sub('', str(value)))}</{name}>"


def to_xml(kind: str, body: Any) -> str:
    header = '<?xml version="1.0" encoding="utf-8"?>'
    if isinstance(body, list):
        root, item = _ROOTS[kind]
        return header + f"<{root}>{''.join(_xml_value(item, entry) for entry in body)}</{root}>"
    return header + _xml_value(kind, body)


def respond(kind: str, fmt: str, body: Any, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(to_xml(kind, body), status_code=status, headers={"Content-Type": "text/xml; charset=utf-8"})
    return Response(body, status_code=status, headers={"Content-Type": "application/json; charset=utf-8"})


def endpoint(context_of: Callable[[], Any]) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Decorates an Open311 route: every failure is the spec's error list, in the asked format."""
    import functools

    from chalicelib.web.http import request_id, status_for

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            segment = next((str(v) for v in reversed(list(kwargs.values()))), "")
            fmt = "xml" if segment.endswith(".xml") else "json"
            try:
                return view(*args, **kwargs)
            except Open311Error as error:
                return respond("errors", fmt, [{"code": c, "description": d} for c, d in error.errors], error.status)
            except DomainError as error:
                status = status_for(error)
                status = 403 if status == 401 else status if status in (403, 404) else 400
                return respond("errors", fmt, [{"code": str(status),
                                                "description": f"{error.message_en} / {error.message_vi}"}], status)
            except Exception as exc:
                from chalicelib.observability import logger

                rid = request_id(context_of())
                logger().exception("unhandled error", extra={"request_id": rid, "error_type": type(exc).__name__})
                return respond("errors", fmt, [{"code": "500", "description": f"Internal error, request id {rid}"}],
                               500)
        return wrapper
    return decorate
