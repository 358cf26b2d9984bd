"""Our 404 page as API Gateway's answer to paths and methods the API lacks (infra/api.json).

API Gateway answers those itself (403 `Missing Authentication Token`) before the app runs; the
`MISSING_AUTHENTICATION_TOKEN` gateway response in infra/api.json turns that into a 404 with the
app's own not_found.html. Its body is rendered here at package time, for the packaged stage's
province and hotline, with links under `${Home}` (Fn::Sub fills in the site's base URL).

A gateway response template is not plain text: API Gateway substitutes `$context...` variables in
it, and `#` starts a directive in the Velocity language of its other mapping templates. The page
keeps neither: CSS colours become rgb(), id selectors attribute selectors, anything else is refused.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = "@not_found.html"  # infra/api.json's stand-in for the rendered page
HOME = "${Home}"

_STYLE = re.compile(r"(<style>)(.*?)(</style>)", re.S)
_HEX = re.compile(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})(?![\w-])")
_ID_SELECTOR = re.compile(r"#([A-Za-z][\w-]*)")


def _rgb(match: re.Match[str]) -> str:
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return "rgb({},{},{})".format(*(int(digits[i:i + 2], 16) for i in (0, 2, 4)))


def _without_hashes(css: str) -> str:
    return _ID_SELECTOR.sub(r'[id="\1"]', _HEX.sub(_rgb, css))


def stage_settings(stage: str) -> dict[str, str]:
    """The stage's environment from .chalice/config.json (what the deployed functions see)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return {**config.get("environment_variables", {}),
            **config.get("stages", {}).get(stage, {}).get("environment_variables", {})}


def gateway_page(province: str, hotline: str) -> str:
    """not_found.html with links under ${Home}, safe as a gateway response template.
    Raises ValueError if a `$` or `#` other than ${Home} would reach API Gateway."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from chalicelib.web.pages import not_found_html

    html = not_found_html(province, hotline, home=HOME)
    html = _STYLE.sub(lambda m: m.group(1) + _without_hashes(m.group(2)) + m.group(3), html)
    left = html.replace(HOME, "")
    if "$" in left or "#" in left:
        at = min(i for i in (left.find("$"), left.find("#")) if i >= 0)
        raise ValueError(f"the gateway 404 page would carry a template character: …{left[max(0, at - 40):at + 40]}…")
    return html


def fill_gateway_pages(template: dict[str, Any], stage: str) -> dict[str, Any]:
    """Returns the template with every PLACEHOLDER string replaced by the rendered page."""
    env = stage_settings(stage)
    page = gateway_page(env["PROVINCE_NAME"], env["HOTLINE_NUMBER"])

    def fill(value: Any) -> Any:
        if value == PLACEHOLDER:
            return page
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [fill(item) for item in value]
        return value

    return fill(template)
