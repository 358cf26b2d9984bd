"""The API contract: an OpenAPI 3.1 document for every JSON endpoint, served at /api/v1/openapi.json.

Public API, staff API, admin API, Open311's JSON forms and the webhook requests the providers document
(reference/channels.md). The tests validate it with openapi-spec-validator and check real responses
against it; schemathesis fuzzes every operation in it. Paths are the app's routes; `servers` carries
the request's base path ('/api' on execute-api), so the document is right wherever the site lives.
"""
from __future__ import annotations

import copy
from typing import Any

from chalicelib.domain.bounds import (
    MAX_BODY_BYTES,
    MAX_DEPTH,
    MAX_NUMBER_CHARS,
    MAX_QUERY_PARAMS,
    MAX_QUERY_VALUE,
    MAX_STRING_CHARS,
)
from chalicelib.domain.dates import EARLIEST, LATEST

Schema = dict[str, Any]

# Small builders keep the document readable: the same few shapes recur in every operation.


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None, closed: bool = False) -> Schema:
    schema: Schema = {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}
    if closed:
        schema["additionalProperties"] = False
    return schema


def _nullable(schema: Schema) -> Schema:
    return {"oneOf": [schema, {"type": "null"}]}


STR: Schema = {"type": "string"}
NSTR: Schema = {"type": ["string", "null"]}
BOOL: Schema = {"type": "boolean"}
INT: Schema = {"type": "integer"}
DATETIME: Schema = {"type": "string", "format": "date-time"}
LOCAL_TEXT: Schema = {"type": "string", "description": "Vietnam time as staff read it, dd/mm/yyyy HH:MM"}
CODE: Schema = {"type": "string", "description": "tracking code, e.g. TN-7KXQ4M (case and dashes are forgiven)",
                "examples": ["TN-7KXQ4M"]}
STATUS: Schema = {"type": "string", "enum": ["received", "triage", "assigned", "in_progress", "awaiting_callback",
                                             "answered", "closed", "rejected", "redirected", "merged", "reopened"]}
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def _json(schema: Schema, description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": f"#/components/responses/E{status}"} for status in statuses}


def _open311_errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"$ref": "#/components/responses/Open311Errors"} for status in statuses}


def _query(name: str, description: str, schema: Schema | None = None, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema or {"type": "string", "maxLength": MAX_QUERY_VALUE}}


def _path(name: str, description: str, schema: Schema | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema or STR}


def _header(name: str, description: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "description": description, "schema": STR}


def _body(schema: Schema, media: str = JSON, description: str = "") -> dict[str, Any]:
    return {"required": True, "description": description, "content": {media: {"schema": schema}}}


STAFF = [{"staffBearer": []}]

# Components


ERROR = _obj({"error": _obj(
    {"code": {"type": "string", "enum": ["validation_failed", "malformed_payload", "unauthorized", "forbidden",
                                         "not_found", "conflict", "too_large", "unprocessable", "too_many_requests",
                                         "unavailable", "error"]},
     "message": {"type": "string", "description": "Vietnamese"},
     "message_en": {"type": "string", "description": "English"}},
    {"fields": {"type": "object", "description": "every bad field, by name",
                "additionalProperties": _obj({"message": STR, "message_en": STR}, closed=True)},
     "quarantine_id": {"type": ["string", "null"], "description": "where a refused webhook payload was kept"}},
    closed=True)}, closed=True)

REPORT_INPUT = _obj(
    {"description": {"type": "string", "maxLength": 5000, "description": "required, stored NFC"},
     "phone": {"type": "string", "description": "any Vietnamese spelling (0912 345 678, +84…, 0084…)",
               "examples": ["0912 345 678"]}},
    {"category": {"type": "string", "description": "an id from /api/v1/reference (empty: triage)"},
     "area": {"type": "string", "description": "a commune or ward id from /api/v1/reference"},
     "address": {"type": "string", "maxLength": 300},
     "name": {"type": "string", "maxLength": 100},
     "email": {"type": "string"},
     "consent_publish": {"type": ["boolean", "string"], "description": "publish it, redacted, once answered"},
     "consent_contact": {"type": ["boolean", "string"],
                         "description": "staff may call or write back to clarify (the answer goes to the phone anyway)"},
     "lat": {"type": ["number", "string"], "description": "-90 to 90"},
     "lon": {"type": ["number", "string"], "description": "-180 to 180"},
     "photos": {"oneOf": [{"type": "array", "items": STR, "maxItems": 5}, STR],
                "description": "upload keys from /api/v1/uploads, a list or comma-separated"}})

RECEIPT = _obj({"tracking_code": CODE, "status": STATUS, "status_label": STR,
                "due_at": {"type": ["string", "null"], "format": "date-time"}},
               {"privacy_notice": {"type": "string", "format": "uri",
                                   "description": "the privacy notice (/rieng-tu) the ticket was made under: show "
                                                  "it to the citizen (a citizen's report; not a call an operator "
                                                  "entered)"},
                "status_url": {"type": "string", "format": "uri",
                               "description": "the reporter's personal status link (/s/<token>): give it to the "
                                              "citizen, who sees the status there with no code or phone digits. "
                                              "Shown once: it is not stored and cannot be asked for again (a "
                                              "citizen's report; not a call an operator entered)"}})

PUBLIC_STATUS = _obj(
    {"tracking_code": CODE, "status": STATUS, "status_label": STR, "category": NSTR, "area": NSTR, "agency": NSTR,
     "created_at": DATETIME, "due_at": {"type": ["string", "null"], "format": "date-time"},
     "timeline": {"type": "array", "items": _obj({"at": DATETIME, "text": STR}, closed=True)},
     "answer": NSTR}, closed=True)

SIMILAR = _obj({"tickets": {"type": "array", "items": _obj(
    {"code": CODE, "category": NSTR, "area": NSTR, "created": LOCAL_TEXT, "status_label": STR, "summary": STR},
    closed=True)}}, closed=True)

FOLLOWING = _obj({"tracking_code": CODE, "following": {"const": True},
                  "status_url": {"type": "string", "format": "uri",
                                 "description": "the follower's personal status link (/s/<token>), shown once"}},
                 closed=True)

FOLLOW_REQUESTED = _obj(
    {"tracking_code": CODE, "following": {"const": False},
     "verify_by": {"const": "sms", "description": "a one-time code went to the phone by SMS"},
     "expires_in": {"type": "integer", "description": "seconds the code is good for (900)"},
     "attempts": {"type": "integer", "description": "wrong codes allowed before a new one is needed (5)"}},
    closed=True)

FOLLOW_VERIFY_INPUT = _obj({"phone": STR, "otp": {"type": "string", "description": "the 6-digit code from the SMS",
                                                  "examples": ["042817"]}})

UPLOAD_INPUT = _obj({"content_type": {"type": "string", "enum": ["image/jpeg", "image/png", "image/heic"]},
                     "size": {"type": "integer", "minimum": 1, "maximum": 10 * 1024 * 1024}})

UPLOAD_GRANT = _obj({"url": STR, "fields": {"type": "object", "additionalProperties": STR}, "key": STR}, closed=True)

PUBLIC_ANSWERS = _obj(
    {"answers": {"type": "array", "items": _obj(
        {"code": CODE, "category": NSTR, "area": NSTR, "agency": NSTR, "asked": LOCAL_TEXT,
         "answered": {"type": ["string", "null"]}, "on_time": {"type": ["boolean", "null"]},
         "question": NSTR, "answer": NSTR, "photos": {"type": "array", "items": STR}}, closed=True)},
     "next": {"type": ["string", "null"], "description": "cursor for `after`"},
     "filters": _obj({"category": STR, "area": STR, "from": {"type": "string", "format": "date"},
                      "to": {"type": "string", "format": "date"}}, closed=True)}, closed=True)

REFERENCE = _obj(
    {"version": INT,
     "categories": {"type": "array", "items": _obj({"id": STR, "name": STR}, closed=True)},
     "areas": {"type": "array", "items": _obj({"id": STR, "name": STR, "kind": STR}, closed=True)}}, closed=True)

INBOX_ROW = _obj({"code": CODE, "status": STATUS, "status_label": STR, "category": NSTR, "area": NSTR,
                  "agency": NSTR, "channel": STR, "created": LOCAL_TEXT, "due": _nullable(LOCAL_TEXT),
                  "overdue": BOOL, "needs_callback": BOOL, "held": BOOL, "excerpt": STR},
                 {"unread": {"type": "boolean", "description": "a citizen wrote since staff last acted (Có tin mới)"},
                  "unread_at": _nullable(LOCAL_TEXT), "assignee": {**NSTR, "description": "who works on it"},
                  "mine": {"type": "boolean", "description": "assigned to the caller"},
                  "question": {"type": "boolean", "description": "the citizen asks (hỏi đáp) rather than complains"}})

INBOX = {"oneOf": [
    _obj({"tickets": {"type": "array", "items": _ref("InboxRow")}, "next": NSTR,
          "filters": {"type": "object", "additionalProperties": STR}}),
    _obj({"code": CODE}, closed=True)],
    "description": "an inbox page; with `q`: the ticket's code (a caller's tickets: POST /api/v1/staff/callers)"}

MARKED = _nullable(_obj({"text": STR, "marks": {"type": "array", "description": "[start, end) of each match",
                                                 "items": {"type": "array", "items": INT, "minItems": 2,
                                                           "maxItems": 2}}}, closed=True))
SEARCH_RESULTS = _obj(
    {"results": {"type": "array", "items": _obj(
        {"code": CODE, "status": STATUS, "status_label": STR, "category": NSTR, "area": NSTR, "created": LOCAL_TEXT,
         "excerpt": MARKED, "address": MARKED,
         "reporter": {**MARKED, "description": "the reporter's name where it matched and the caller may see it"}},
        closed=True)},
     "next": {"type": ["string", "null"], "description": "pass as `after` for the next page"},
     "since": {"type": "string", "description": "the oldest month searched (yyyy-mm)"},
     "index_behind": {"type": "boolean", "description": "the index is catching up: the newest tickets may be missing"}},
    closed=True)

STAFF_TICKET = _obj(
    {"tracking_code": CODE, "version": INT, "status": STATUS, "text": STR, "summary": _ref("InboxRow"),
     "reporter": {"type": "object", "description": "the reporter, or {hidden: true} for roles that may not see them"},
     "answer": NSTR, "merged_into": NSTR, "followers": {"type": "array", "items": CODE},
     "related_to": {**NSTR, "description": "the reporter's earlier ticket this one follows up or was split from; "
                   "null for a caller who may not see the reporter of either ticket"},
     "consents": _obj({"publish": BOOL, "contact": BOOL, "notice_version": NSTR}, closed=True),
     "timeline": {"type": "array", "items": _obj({"at": DATETIME, "type": STR, "kind": NSTR}, {"receipt": {
         **NSTR, "description": "an outbound Messenger message: 'delivered' or 'read' once Meta's receipt came"}})},
     "callbacks": {"type": "array", "items": _obj(
         {"id": STR, "due_at": DATETIME, "reason": NSTR, "operator": NSTR, "open": BOOL, "outcome": NSTR})},
     "actions": {"type": "array", "items": STR}})

ACTION_INPUT = _obj({"version": {"type": ["integer", "string"], "description": "the ticket version last read"}},
                    {**{name: STR for name in ("category", "area", "agency", "reason", "text", "due", "callback",
                                               "outcome", "working_days", "answer", "redirected_to", "merged_into",
                                               "public_question", "public_answer", "sms", "assignee")},
                     "kind": {"type": "string", "enum": ["question", "complaint"],
                              "description": "mark_kind: the citizen asks, or complains (until the first answer)"}})

ZALO_EVENT = _obj(
    {"app_id": STR, "event_name": {"type": "string", "examples": ["user_send_text", "user_send_image",
                                                                 "user_send_location", "follow", "unfollow"]},
     "timestamp": {"type": "string", "pattern": "^[0-9]{10,13}$", "description": "epoch milliseconds, as a string"}},
    {"user_id_by_app": STR, "sender": _obj({"id": STR}), "recipient": _obj({"id": STR}),
     "follower": _obj({"id": STR}),
     "message": _obj({"msg_id": STR}, {"text": STR, "attachments": {"type": "array", "items": _obj(
         {"type": STR}, {"payload": {"type": "object", "properties": {
             "url": STR, "thumbnail": STR, "name": STR, "description": STR,
             "coordinates": {"type": "object", "properties": {
                 "latitude": {"type": ["string", "number"]}, "longitude": {"type": ["string", "number"]}}}}}})}})})

ANDROID_EVENT = _obj(
    {"event": {"type": "string", "examples": ["sms:received", "sms:sent", "system:ping"]}, "id": STR},
    {"deviceId": STR, "webhookId": STR, "payload": _obj(
        {"phoneNumber": STR, "receivedAt": DATETIME},
        {"messageId": STR, "message": STR, "simNumber": {"type": ["integer", "null"]}})})

SMSSYNC_MESSAGE = _obj({"secret": STR, "from": STR, "message_id": STR},
                       {"message": STR, "sent_to": STR, "device_id": STR,
                        "sent_timestamp": {"type": "string", "description": "Unix seconds or milliseconds"}})

OPEN311_REQUEST = _obj(
    {"service_request_id": CODE, "status": {"type": "string", "enum": ["open", "closed"]}},
    {"status_notes": NSTR, "service_name": NSTR, "service_code": STR, "description": NSTR,
     "agency_responsible": NSTR, "service_notice": NSTR,
     "requested_datetime": {"type": ["string", "null"], "format": "date-time"},
     "updated_datetime": {"type": ["string", "null"], "format": "date-time"},
     "expected_datetime": {"type": ["string", "null"], "format": "date-time"},
     "address": NSTR, "address_id": NSTR, "zipcode": NSTR,
     "lat": {"type": ["number", "null"]}, "long": {"type": ["number", "null"]}, "media_url": NSTR}, closed=True)

COMPONENTS: dict[str, Any] = {
    "schemas": {
        "Error": ERROR,
        "Open311Errors": {"type": "array", "minItems": 1, "items": _obj({"code": STR, "description": STR},
                                                                       closed=True)},
        "ReportInput": REPORT_INPUT, "Receipt": RECEIPT, "PublicStatus": PUBLIC_STATUS,
        "SimilarReports": SIMILAR, "Following": FOLLOWING, "FollowRequested": FOLLOW_REQUESTED,
        "FollowVerifyInput": FOLLOW_VERIFY_INPUT, "UploadInput": UPLOAD_INPUT, "UploadGrant": UPLOAD_GRANT,
        "PublicAnswers": PUBLIC_ANSWERS, "Reference": REFERENCE, "InboxRow": INBOX_ROW, "Inbox": INBOX,
        "StaffTicket": STAFF_TICKET, "SearchResults": SEARCH_RESULTS, "ActionInput": ACTION_INPUT, "ZaloEvent": ZALO_EVENT,
        "AndroidGatewayEvent": ANDROID_EVENT, "SmssyncMessage": SMSSYNC_MESSAGE, "ServiceRequest": OPEN311_REQUEST,
        "Ok": _obj({"ok": {"const": True}}, closed=True),
    },
    "responses": {
        **{f"E{status}": _json(_ref("Error"), text) for status, text in (
            (400, "invalid input, named field by field (nothing was written); `malformed_payload` for a webhook "
                  "body from an authenticated provider that cannot be read (kept in quarantine)"),
            (401, "no valid staff ID token; a missing or wrong webhook signature"),
            (403, "the staff role may not do this"),
            (404, "not found, or not the caller's to see (the same answer for both)"),
            (409, "somebody changed it first (stale version or If-Match)"),
            (413, f"the body is over {MAX_BODY_BYTES // 1024} KiB"),
            (422, "a well-formed request the use case refuses (e.g. an Idempotency-Key reused for another "
                  "report)"),
            (429, "a rate limit was reached; nothing was stored"),
            (503, "a backing service is busy; retry later"))},
        "Open311Errors": _json(_ref("Open311Errors"), "the GeoReport v2 error list"),
    },
    "securitySchemes": {
        "staffBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                        "description": "the Cognito ID token of a staff account (InitiateAuth, USER_PASSWORD_AUTH)"},
    },
    "links": {
        "ReportStatus": {"operationId": "getReportStatus", "parameters": {"code": "$response.body#/tracking_code"},
                         "description": "the status of the report just filed (phone_last4 is the reporter's)"},
        "FollowReport": {"operationId": "followReport", "parameters": {"code": "$response.body#/tracking_code"}},
        "VerifyFollow": {"operationId": "verifyFollow", "parameters": {"code": "$response.body#/tracking_code"},
                         "description": "send the code the phone received"},
        "StaffTicket": {"operationId": "getStaffTicket", "parameters": {"code": "$response.body#/tracking_code"}},
        "Open311Request": {"operationId": "getOpen311Request",
                           "parameters": {"service_request_id": "$response.body#/0/service_request_id"}},
    },
}


def _paths() -> dict[str, Any]:
    json_body_errors = (400, 413)
    return {
        "/api/v1/openapi.json": {"get": {
            "operationId": "getOpenApi", "tags": ["public"], "summary": "this document",
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {JSON: {"schema": {"type": "object"}}}},
                          **_errors(400)}}},
        "/api/v1/reports": {"post": {
            "operationId": "createReport", "tags": ["public"], "summary": "file a report (phản ánh)",
            "parameters": [_header("Idempotency-Key", "a retry with the same key returns the first receipt")],
            "requestBody": _body(_ref("ReportInput")),
            "responses": {"201": {**_json(_ref("Receipt"), "the receipt"),
                                  "links": {"status": {"$ref": "#/components/links/ReportStatus"},
                                            "follow": {"$ref": "#/components/links/FollowReport"},
                                            "staff": {"$ref": "#/components/links/StaffTicket"}}},
                          **_errors(*json_body_errors, 409, 422, 429, 503)}}},
        "/api/v1/reports/similar": {"get": {
            "operationId": "similarReports", "tags": ["public"],
            "summary": "open reports of a category in a commune (public summaries): with lat and lon the 5 nearest "
                       "(none farther than 800 m), else the newest 5",
            "parameters": [_query("category", "category id"), _query("area", "commune or ward id"),
                           _query("lat", "the new report's latitude, -90 to 90 (with lon)", {"type": "number", "minimum": -90, "maximum": 90}),
                           _query("lon", "the new report's longitude, -180 to 180 (with lat)",
                                  {"type": "number", "minimum": -180, "maximum": 180})],
            "responses": {"200": _json(_ref("SimilarReports"), "public summaries"), **_errors(400, 503)}}},
        "/api/v1/reports/{code}": {"get": {
            "operationId": "getReportStatus", "tags": ["public"],
            "summary": "a report's status, for whoever knows the phone's last four digits",
            "parameters": [_path("code", "tracking code", CODE),
                           _query("phone_last4", "the last four digits of the reporter's phone",
                                  {"type": "string", "pattern": "^[0-9]{4}$"})],
            "responses": {"200": _json(_ref("PublicStatus"), "the public view (no personal data)"),
                          **_errors(400, 404, 429, 503)}}},
        "/api/v1/reports/{code}/followers": {"post": {
            "operationId": "followReport", "tags": ["public"],
            "summary": "ask to follow an open report by SMS: a one-time code goes to the phone (the follow takes "
                       "effect only with verifyFollow; hourly limits per number and per source)",
            "parameters": [_path("code", "tracking code", CODE)],
            "requestBody": _body(_obj({"phone": STR})),
            "responses": {"202": {**_json(_ref("FollowRequested"), "code sent; not following yet"),
                                  "links": {"verify": {"$ref": "#/components/links/VerifyFollow"}}},
                          **_errors(*json_body_errors, 404, 409, 422, 429, 503)}}},
        "/api/v1/reports/{code}/followers/verify": {"post": {
            "operationId": "verifyFollow", "tags": ["public"],
            "summary": "follow with the one-time code (15 minutes, 5 wrong codes at most): the phone then gets the "
                       "report's answer with the reporter's personal data masked",
            "parameters": [_path("code", "tracking code", CODE)],
            "requestBody": _body(_ref("FollowVerifyInput")),
            "responses": {"201": _json(_ref("Following"), "following"),
                          **_errors(*json_body_errors, 404, 409, 503)}}},
        "/api/v1/uploads": {"post": {
            "operationId": "grantUpload", "tags": ["public"],
            "summary": "a presigned POST for one photo (valid 15 minutes)",
            "requestBody": _body(_ref("UploadInput")),
            "responses": {"201": _json(_ref("UploadGrant"), "send the file to `url` with `fields`"),
                          **_errors(*json_body_errors, 429, 503)}}},
        "/api/v1/public/answers": {"get": {
            "operationId": "publicAnswers", "tags": ["public"],
            "summary": "published answers, redacted, 20 a page, newest first (the last year by default)",
            "parameters": [_query("category", "category id"), _query("area", "commune or ward id"),
                           _query("from", f"first day, YYYY-MM-DD ({EARLIEST} to {LATEST})",
                                  {"type": "string", "format": "date"}),
                           _query("to", f"last day, YYYY-MM-DD ({EARLIEST} to {LATEST})",
                                  {"type": "string", "format": "date"}),
                           _query("after", "the `next` cursor of the previous page")],
            "responses": {"200": _json(_ref("PublicAnswers"), "one page"), **_errors(400, 503)}}},
        "/api/v1/reference": {"get": {
            "operationId": "reference", "tags": ["public"],
            "summary": "the categories and communes/wards a client needs to fill a report",
            "responses": {"200": _json(_ref("Reference"), "categories and areas"), **_errors(400, 503)}}},
        "/api/v1/kb/suggest": {"post": {
            "operationId": "suggestArticles", "tags": ["public"],
            "summary": "up to 3 published Q&A articles (hỏi đáp) answering a question being typed: the report form's "
                       "and the phone intake's suggestions (the text goes in the body, never in a URL, and is not "
                       "logged; fewer than 2 words get none)",
            "requestBody": _body(_obj({"text": {"type": "string", "maxLength": 2000}},
                                      {"category": {"type": "string", "maxLength": 40, "description": "category id"}})),
            "responses": {"200": _json(_obj({"articles": {"type": "array", "maxItems": 3, "items": _obj(
                {"id": STR, "version": INT, "title": STR, "answer": STR, "url": STR},
                {"question": NSTR, "short_answer": NSTR, "category": NSTR})}}), "best first"),
                **_errors(*json_body_errors, 503)}}},
        **_staff_paths(),
        **_admin_paths(),
        **_personal_data_paths(),
        **_webhook_paths(),
        **_open311_paths(),
    }


def _staff_paths() -> dict[str, Any]:
    common = _errors(400, 401, 403, 503)
    return {
        "/api/v1/staff/me": {"get": {
            "operationId": "staffMe", "tags": ["staff"], "security": STAFF, "summary": "the signed-in account",
            "responses": {"200": _json(_obj({"email": STR, "name": STR, "roles": {"type": "array", "items": STR},
                                             "agency": NSTR}, closed=True), "who"), **common}}},
        "/api/v1/staff/tickets": {"get": {
            "operationId": "staffInbox", "tags": ["staff"], "security": STAFF,
            "summary": "one inbox page (25 rows, earliest deadline first), or a search with `q`",
            "parameters": [_query("status", "a status", STATUS), _query("category", "category id"),
                           _query("agency", "agency id"),
                           _query("channel", "channel", {"type": "string",
                                                         "enum": ["web", "sms", "zalo", "phone", "open311"]}),
                           _query("view", "a saved view", {"type": "string",
                                                           "enum": ["", "triage", "new", "mine", "overdue",
                                                                    "due_today", "callback", "held"]}),
                           _query("after", "the `next` cursor"),
                           _query("q", "a tracking code (a phone is refused here: POST /api/v1/staff/callers)")],
            "responses": {"200": _json(_ref("Inbox"), "rows"), **common, **_errors(404)}}},
        "/api/v1/staff/tickets/{code}": {"get": {
            "operationId": "getStaffTicket", "tags": ["staff"], "security": STAFF,
            "summary": "a ticket, its whole timeline and the actions this caller may take",
            "parameters": [_path("code", "tracking code", CODE)],
            "responses": {"200": _json(_ref("StaffTicket"), "the ticket"), **common, **_errors(404)}}},
        "/api/v1/staff/tickets/{code}/actions/{action}": {"post": {
            "operationId": "staffAction", "tags": ["staff"], "security": STAFF, "summary": "one action on a ticket",
            "parameters": [_path("code", "tracking code", CODE),
                           _path("action", "the action", {"type": "string", "enum": [
                               "categorise", "assign", "return", "start", "reply", "note", "callback",
                               "callback_done", "extend", "delay_reason", "resolve", "reject", "redirect", "merge", "reopen",
                               "close", "publish", "unpublish", "claim", "release", "reassign", "seen",
                               "mark_kind"]})],
            "requestBody": _body(_ref("ActionInput")),
            "responses": {"200": _json(_obj({"ok": {"const": True}, "message": STR}, closed=True), "done"),
                          **common, **_errors(404, 409, 413, 422)}}},
        "/api/v1/staff/callers": {"post": {
            "operationId": "staffCaller", "tags": ["staff"], "security": STAFF,
            "summary": "a caller's earlier tickets, newest first (hotline roles); the phone goes in the body, never "
                       "in a URL (access logs keep URLs)",
            "requestBody": _body(_obj({"phone": {"type": "string", "description": "a Vietnamese phone number",
                                                 "examples": ["0912 345 678"]}})),
            "responses": {"200": _json(_obj({"tickets": {"type": "array", "items": _ref("InboxRow")}}, closed=True),
                                       "tickets"), **common, **_errors(413)}}},
        "/api/v1/staff/search": {"post": {
            "operationId": "staffSearch", "tags": ["staff"], "security": STAFF,
            "summary": "the console's search box: a tracking code, a caller's phone (hotline roles), or words found in "
                       "tickets' text, reporter's name (hidden ones excepted), address and commune, with or without "
                       "diacritics, newest first, in the caller's scope, the last 12 months at least; the query goes in "
                       "the body, never in a URL",
            "requestBody": _body(_obj({"q": {"type": "string", "maxLength": 200, "description": 'words and "phrases", '
                                             "all of which must match; word* matches words it begins",
                                             "examples": ["Nguyễn Trãi ngập", "TN-7KXQ4M"]}},
                                      {"after": {"type": "string", "description": "the `next` of the page before"}})),
            "responses": {"200": _json({"oneOf": [
                _obj({"code": CODE}, closed=True),
                _obj({"tickets": {"type": "array", "items": _ref("InboxRow")}}, closed=True),
                _ref("SearchResults")]}, "the ticket's code, a caller's tickets or a page of results"),
                **common, **_errors(404, 413)}}},
        "/api/v1/staff/intake": {"post": {
            "operationId": "staffIntake", "tags": ["staff"], "security": STAFF,
            "summary": "a ticket from a phone call (hotline roles)",
            "requestBody": _body({**copy.deepcopy(REPORT_INPUT), "properties": {
                **REPORT_INPUT["properties"], "form_token": STR}}),
            "responses": {"201": _json(_ref("Receipt"), "the receipt"), **common, **_errors(409, 413, 422, 429)}}},
    }


REFERENCE_VERSION: Schema = _obj({"version": INT, "at": DATETIME, "actor": {"type": "string", "description":
                                                                           "staff:<email> or system:<job>"},
                                   "summary": STR, "restored_from": {"type": ["integer", "null"]}}, closed=True)
REFERENCE_CHANGES: Schema = _obj({
    "key": {"type": "string", "enum": ["categories", "areas", "agencies", "routing_rules", "calendar", "hotline_hours",
                                       "abbreviations", "routing", "retention", "telephony", "general"]},
    "title": {"type": "string", "description": "Vietnamese"},
    "added": {"type": "array", "items": STR}, "removed": {"type": "array", "items": STR},
    "changed": {"type": "array", "items": _obj({"label": STR, "changes": {"type": "array", "items": STR}},
                                                closed=True)}}, closed=True)


def _admin_paths() -> dict[str, Any]:
    common = _errors(400, 401, 403, 503)
    return {
        "/api/v1/admin/reference": {
            "get": {"operationId": "adminReference", "tags": ["admin"], "security": STAFF,
                    "summary": "the reference document in use, its version and what to fix",
                    "responses": {"200": _json(_obj({"version": INT, "document": {"type": "object"},
                                                     "warnings": {"type": "array", "items": _obj(
                                                         {"message": STR, "message_en": STR}, closed=True)}},
                                                    closed=True),
                                               "the document"), **common}},
            "put": {"operationId": "replaceReference", "tags": ["admin"], "security": STAFF,
                    "summary": "replace the whole document (validated whole: any error and nothing changes); "
                               "saved as a new version in the history",
                    "parameters": [_header("If-Match", "the current version")],
                    "requestBody": _body({"type": "object", "required": ["version", "categories", "areas",
                                                                         "agencies"]}),
                    "responses": {"200": _json(_obj({"version": INT}, closed=True), "stored"), **common,
                                  **_errors(409, 413)}}},
        "/api/v1/admin/reference/versions": {"get": {
            "operationId": "referenceVersions", "tags": ["admin"], "security": STAFF,
            "summary": "saved versions of the reference data, newest first (who, when, what changed)",
            "parameters": [_query("before", "list versions below this number (the `next` of the page before)",
                                  {"type": "string", "pattern": "^[0-9]{1,9}$"})],
            "responses": {"200": _json(_obj({"versions": {"type": "array", "items": REFERENCE_VERSION},
                                             "next": {"type": ["integer", "null"]}}, closed=True),
                                       "a page of versions"), **common}}},
        "/api/v1/admin/reference/versions/{number}": {"get": {
            "operationId": "referenceVersion", "tags": ["admin"], "security": STAFF,
            "summary": "one saved version: its document and what changed from the version before, per section",
            "parameters": [_path("number", "the version number", {"type": "string", "pattern": "^[0-9]{1,9}$"})],
            "responses": {"200": _json({**REFERENCE_VERSION, "required": [*REFERENCE_VERSION["required"], "previous",
                                                                          "document", "changes"],
                                        "properties": {**REFERENCE_VERSION["properties"],
                                                       "previous": {"type": ["integer", "null"]},
                                                       "document": {"type": "object"},
                                                       "changes": {"type": "array", "items": REFERENCE_CHANGES}}},
                                       "the version"), **common, **_errors(404)}}},
        "/api/v1/admin/contacts": {"get": {
            "operationId": "adminContacts", "tags": ["admin"], "security": STAFF,
            "summary": "addresses SES reported bounces or complaints for",
            "responses": {"200": _json(_obj({"contacts": {"type": "array", "items": _obj(
                {"address": STR, "bounces": INT, "complaints": INT, "last_type": NSTR, "last_at": NSTR})}},
                closed=True), "contacts"), **common}}},
        "/api/v1/admin/stats": {"get": {
            "operationId": "adminStats", "tags": ["admin"], "security": STAFF,
            "summary": "satisfaction ratings of a month (every staff role)",
            "parameters": [_query("month", "YYYY-MM (this month by default)")],
            "responses": {"200": _json(_obj({"month": STR, "ratings": INT, "average": {"type": ["number", "null"]},
                                             "categories": {"type": "array", "items": {"type": "object"}}}),
                                       "statistics"), **common}}},
        "/api/v1/admin/quarantine": {"get": {
            "operationId": "adminQuarantine", "tags": ["admin"], "security": STAFF,
            "summary": "webhook payloads that could not be read (kept 90 days)",
            "responses": {"200": _json(_obj({"payloads": {"type": "array", "items": _obj(
                {"id": STR, "provider": STR, "reason": STR, "received_at": DATETIME, "raw": NSTR})}}, closed=True),
                "payloads"), **common}}},
    }


# Personal-data requests (chalicelib/web/privacy_api.py): the person rides in the body, never the URL

PERSON: Schema = {"type": "string", "description": "a phone number in any Vietnamese spelling, a Zalo user id or a "
                  "Messenger id (the fanpage's page-scoped id, PSID)",
                  "examples": ["0912 345 678"]}
HELD: Schema = _obj({
    "generated_at": DATETIME,
    "subject": _obj({"kind": {"type": "string", "enum": ["phone", "zalo"]},
                     "value": {"type": "string", "description": "E.164, or the Zalo id / Messenger PSID"}},
                    closed=True),
    "tickets": {"type": "array", "description": "each ticket the person reported or follows", "items": _obj(
        {"code": CODE, "role": {"type": "string", "enum": ["reporter", "follower"]}},
        {"status": STR, "category": NSTR, "channel": NSTR, "created_at": NSTR, "anonymised": BOOL,
         "kept_because": {"type": ["string", "null"], "description": "why erasure keeps it (a legal hold)"}})},
    "records": {"type": "array", "description": "every stored item found, with its personal data as stored",
                "items": _obj({"kind": STR, "key": {"type": "string", "description": "pk|sk"}},
                              {"ticket": NSTR, "at": NSTR, "fields": {"type": "object"}})},
    "counts": _obj({"tickets": INT, "records": INT,
                    "by_kind": {"type": "object", "additionalProperties": INT}}, closed=True)}, closed=True)
NAMES: Schema = {"description": "the names the person uses (optional): masked in every text at erasure — an SMS, "
                                 "Zalo or phone reporter is known by no name but what they wrote; never audited",
                  "oneOf": [{"type": "string", "maxLength": 1100, "description": "comma-separated"},
                            {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 100}}]}
ERASURE: Schema = _obj({
    "anonymised": {"type": "array", "items": CODE, "description": "tickets the person reported, anonymised now"},
    "unfollowed": {"type": "array", "items": CODE, "description": "tickets the person no longer follows"},
    "kept": {"type": "array", "description": "tickets under legal hold, kept, and why",
             "items": _obj({"tracking_code": CODE, "reason": STR}, closed=True)},
    "markers_deleted": INT, "counters_deleted": INT,
    "remaining": {**INT, "description": "tickets of the person still to anonymise: one call handles at most 20; "
                  "call again with the same request until it is 0"}}, closed=True)


def _personal_data_paths() -> dict[str, Any]:
    common = _errors(400, 401, 403, 413, 503)
    person = _obj({"person": PERSON})
    return {
        "/api/v1/admin/people/search": {"post": {
            "operationId": "adminPeopleSearch", "tags": ["admin"], "security": STAFF,
            "summary": "everything held about a phone or Zalo id (each look is audited)",
            "requestBody": _body(person),
            "responses": {"200": _json(HELD, "the tickets and every stored record"), **common}}},
        "/api/v1/admin/people/export": {"post": {
            "operationId": "adminPeopleExport", "tags": ["admin"], "security": STAFF,
            "summary": "the same as a file to hand over: JSON, or CSV for Excel (UTF-8 with BOM); audited",
            "parameters": [_query("format", "json (default) or csv", {"type": "string", "enum": ["json", "csv"]})],
            "requestBody": _body(person),
            "responses": {"200": {"description": "a download (Content-Disposition: attachment), named by "
                                                 "the audit entry's reference and the date",
                                  "content": {JSON: {"schema": HELD}, "text/csv": {"schema": STR}}}, **common}}},
        "/api/v1/admin/people/erase": {"post": {
            "operationId": "adminPeopleErase", "tags": ["admin"], "security": STAFF,
            "summary": "anonymise now everything held about a phone or Zalo id, on the person's request "
                       "(tickets under legal hold are kept and listed); audited",
            "requestBody": _body(_obj({"person": PERSON, "requester": {"type": "string", "maxLength": 500},
                                       "reason": {"type": "string", "maxLength": 500},
                                       "approver": {"type": "string", "maxLength": 500,
                                                    "description": "someone other than the caller"}},
                                      {"names": NAMES})),
            "responses": {"200": _json(ERASURE, "what was done"), **common}}},
        "/api/v1/staff/tickets/{code}/legal-hold": {
            method: {"operationId": operation, "tags": ["staff"], "security": STAFF, "summary": summary,
                     "parameters": [_path("code", "tracking code", CODE)],
                     **({"requestBody": _body(_obj({"reason": {"type": "string", "maxLength": 500}}))}
                        if method == "put" else {}),
                     "responses": {"200": _json(_obj({"legal_hold": NSTR, "message": STR}, closed=True), "done"),
                                   **common, **_errors(404)}}
            for method, operation, summary in (
                ("put", "setLegalHold", "keep the ticket's personal data past its retention and through erasure "
                                        "requests, with a reason (supervisors, admins)"),
                ("delete", "liftLegalHold", "lift the legal hold (supervisors, admins)"))},
    }


def _webhook_paths() -> dict[str, Any]:
    refused = _errors(400, 401, 413, 503)
    return {
        "/webhooks/zalo": {"post": {
            "operationId": "zaloWebhook", "tags": ["webhooks"],
            "summary": "Zalo OA events (X-ZEvent-Signature: sha256(app_id + body + timestamp + OA secret key))",
            "parameters": [_header("X-ZEvent-Signature", "mac=<hex>", required=True),
                           _header("num_retry", "Zalo's retry count")],
            "requestBody": _body(_ref("ZaloEvent")),
            "responses": {"200": _json(_ref("Ok"), "queued (or ignored: echoes, receipts)"), **refused}}},
        "/webhooks/facebook": {
            "get": {"operationId": "facebookWebhookVerify", "tags": ["webhooks"],
                    "summary": "Meta's verification handshake: the challenge back when the verify token is ours",
                    "parameters": [_query("hub.mode", "subscribe", required=True),
                                   _query("hub.verify_token", "the token typed into the app's Webhooks settings",
                                          required=True),
                                   _query("hub.challenge", "echoed back", required=True)],
                    "responses": {"200": {"description": "the challenge", "content": {"text/plain": {"schema": STR}}},
                                  **_errors(400, 403)}},
            "post": {"operationId": "facebookWebhook", "tags": ["webhooks"],
                     "summary": "Messenger events of the fanpage, possibly batched "
                                "(X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>)",
                     "parameters": [_header("X-Hub-Signature-256", "sha256=<hex>", required=True)],
                     "requestBody": _body(_obj({"object": {"const": "page"}, "entry": {"type": "array", "items": _obj(
                         {"id": STR}, {"time": {"type": "integer"}, "messaging": {"type": "array", "items": _obj(
                             {"sender": _obj({"id": STR}), "timestamp": {"type": "integer"}},
                             {"recipient": _obj({"id": STR}), "message": _obj({"mid": STR}, {
                                 "text": STR, "is_echo": BOOL, "quick_reply": _obj({"payload": STR}),
                                 "attachments": {"type": "array", "items": _obj({"type": STR})}}),
                              "postback": _obj({}, {"title": STR, "payload": STR, "mid": STR}),
                              "delivery": {"type": "object"}, "read": {"type": "object"}})},
                             "standby": {"type": "array", "description": "another app holds the thread: counted, "
                                         "not opened", "items": {"type": "object"}}})}})),
                     "responses": {"200": _json(_ref("Ok"), "queued, one per message, postback or delivery / read "
                                                "receipt (echoes ignored; standby items, items over 7 days old and "
                                                "entries for another page counted, the last quarantined)"),
                                   **refused}}},
        "/webhooks/sms/android-gateway": {"post": {
            "operationId": "androidGatewayWebhook", "tags": ["webhooks"],
            "summary": "android-sms-gateway `sms:received` (X-Signature: hex HMAC-SHA256(key, body + X-Timestamp))",
            "parameters": [_header("X-Signature", "hex HMAC-SHA256", required=True),
                           _header("X-Timestamp", "Unix seconds", required=True)],
            "requestBody": _body(_ref("AndroidGatewayEvent")),
            "responses": {"200": _json(_ref("Ok"), "queued"), **refused}}},
        "/webhooks/sms/smssync": {
            "post": {"operationId": "smssyncMessage", "tags": ["webhooks"],
                     "summary": "SMSSync: a received SMS (form post with the shared secret), or `task=sent`",
                     "parameters": [_query("task", "`sent`: the phone reports what it sent",
                                           {"type": "string", "enum": ["sent"]}),
                                    _query("secret", "the shared secret (task=sent)")],
                     "requestBody": {"required": True, "content": {
                         FORM: {"schema": _ref("SmssyncMessage")},
                         JSON: {"schema": _obj({"queued_messages": {"type": "array", "items": STR}})}}},
                     "responses": {"200": _json({"oneOf": [
                         _obj({"payload": _obj({"success": BOOL, "error": NSTR})}),
                         _obj({"message_uuids": {"type": "array", "items": STR}})]}, "SMSSync's answer"),
                         **refused}},
            "get": {"operationId": "smssyncTaskSend", "tags": ["webhooks"],
                    "summary": "SMSSync polls for SMS to send (`task=send`)",
                    "parameters": [_query("task", "send", {"type": "string", "enum": ["send"]}, required=True),
                                   _query("secret", "the shared secret", required=True),
                                   _query("device_id", "the phone")],
                    "responses": {"200": _json(_obj({"payload": _obj(
                        {"task": {"const": "send"}, "secret": STR, "messages": {"type": "array", "items": _obj(
                            {"uuid": STR, "to": STR, "message": STR})}})}), "messages to send"), **refused}}},
        **_stringee_paths(),
        "/webhooks/sms/esms": {"get": {
            "operationId": "esmsMo", "tags": ["webhooks"],
            "summary": "eSMS short-code MO (sign = MD5(cpid + smsid + content + receiverTime + private key))",
            "parameters": [_query(name, text, required=name in ("cpid", "sign", "smsid", "sender")) for name, text in (
                ("sender", "84…"), ("content", "the text"), ("serviceNumber", "the short code"),
                ("keyword", "the first word"), ("cpid", "partner id"), ("smsid", "unique id"),
                ("receiverTime", "yyyyMMddHHmmss, Vietnam time"), ("sign", "hex or Base64 MD5"))],
            "responses": {"200": {"description": "eSMS's XML ClientResponse",
                                  "content": {"text/xml": {"schema": STR}}}, **refused}}},
    }


def _stringee_paths() -> dict[str, Any]:
    """Stringee's call control (chalicelib/web/routes_telephony.py): X-STRINGEE-SIGNATURE is
    base64(HMAC-SHA1(signing secret, the Request-URI of a GET / the raw body of a POST)). A POST with a
    missing or wrong one, or a query we did not sign (`t`), is a 403 and nothing is stored; without a
    signing secret the POSTs answer 503. The answer_url answers an SCCO whatever happens."""
    refused = _errors(400, 403, 413, 503)
    token = _query("t", "our own HMAC of call|try|kind, put in the URLs we hand Stringee: the POST signature "
                        "covers only the body", required=True)
    signature = _header("X-STRINGEE-SIGNATURE", "base64 HMAC-SHA1 of the Request-URI (GET) or the body (POST)",
                        required=True)
    scco = _json({"type": "array", "items": _obj({"action": {"type": "string", "enum": [
        "connect", "talk", "play", "record", "recordMessage", "input"]}})},
        "an SCCO: the actions Stringee runs for the call, in order (connect, talk, recordMessage …)")
    call = _query("call", "the call id (uuid) this URL was handed out for", required=True)
    event_body = _body(_obj({"call_status": STR, "call_id": STR}, {"timestamp_ms": INT}))
    return {
        "/webhooks/stringee/answer": {"get": {
            "operationId": "stringeeAnswer", "tags": ["webhooks"],
            "summary": "answer_url: what to do with a call (the operators on duty in hours, else a message and "
                       "voicemail); never an error — a signature that does not verify, or any failure, answers a "
                       "safe message and voicemail (nothing stored; counted and alarmed), no signing secret a message "
                       "without voicemail",
            "parameters": [signature, _query("uuid", "the call id"), _query("from", "the caller"),
                           _query("to", "the number called"), _query("fromInternal", "true from an app client"),
                           _query("callId", "the call id (app clients)"), _query("userId", "app client user"),
                           _query("projectId", "Stringee project"), _query("custom", "app client data")],
            "responses": {"200": scco, **refused}}},
        "/webhooks/stringee/next": {"post": {
            "operationId": "stringeeNext", "tags": ["webhooks"],
            "summary": "onFailEventUrl: an operator did not take the call — the next one on duty, else the queue "
                       "message and voicemail",
            "parameters": [signature, call, _query("try", "how many operators were tried", required=True), token],
            "requestBody": _body(_obj({}, {"call_status": STR, "call_id": STR, "endCallCause": STR})),
            "responses": {"200": scco, **refused}}},
        "/webhooks/stringee/event": {"post": {
            "operationId": "stringeeEvent", "tags": ["webhooks"],
            "summary": "event_url: a state change of a call (created, ringing, answered, ended …), applied once per "
                       "call and status, in any order",
            "parameters": [signature], "requestBody": event_body,
            "responses": {"200": _json(_ref("Ok"), "applied (or already seen)"), **refused}}},
        "/webhooks/stringee/voicemail": {"post": {
            "operationId": "stringeeVoicemail", "tags": ["webhooks"],
            "summary": "recordMessage / record eventUrl: the link of a voicemail (or, kind=recording, of the whole call)",
            "parameters": [signature, call, _query("kind", "voicemail, or recording: the whole call's recording",
                                                   {"type": "string", "enum": ["voicemail", "recording"]},
                                                   required=True), token],
            "requestBody": _body(_obj({}, {"call_id": STR, "recording_url": STR, "duration": INT})),
            "responses": {"200": _json(_ref("Ok"), "stored (or already stored)"), **refused}}},
    }


def _open311_paths() -> dict[str, Any]:
    def get(operation_id: str, summary: str, schema: Schema, parameters: list[Any] | None = None,
            errors: tuple[int, ...] = (400,)) -> dict[str, Any]:
        return {"get": {"operationId": operation_id, "tags": ["open311"], "summary": summary,
                        "parameters": parameters or [],
                        "responses": {"200": _json(schema, "JSON form"), **_open311_errors(*errors)}}}

    dates = [_query("start_date", f"W3C date-time with a timezone ({EARLIEST} to {LATEST})",
                    {"type": "string", "format": "date-time"}),
             _query("end_date", "W3C date-time with a timezone", {"type": "string", "format": "date-time"})]
    requests = {"type": "array", "items": _ref("ServiceRequest")}
    paths = {
        "/open311/v2/discovery.json": get("open311Discovery", "the endpoint, formats, contact", _obj(
            {"changeset": STR, "contact": STR, "key_service": STR, "endpoints": {"type": "array", "items": _obj(
                {"specification": STR, "url": STR, "changeset": STR, "type": STR,
                 "formats": {"type": "array", "items": STR}})}})),
        "/open311/v2/services.json": get("open311Services", "our categories as services", {
            "type": "array", "items": _obj({"service_code": STR, "service_name": STR, "metadata": BOOL,
                                            "type": {"const": "realtime"}},
                                           {"description": STR, "keywords": NSTR, "group": STR})}),
        "/open311/v2/services/{service_code}.json": get(
            "open311ServiceDefinition", "the one `area` attribute every service has",
            _obj({"service_code": STR, "attributes": {"type": "array", "items": {"type": "object"}}}),
            [_path("service_code", "a category id")], (400, 404)),
        "/open311/v2/requests/{service_request_id}.json": get(
            "getOpen311Request", "one service request", requests, [_path("service_request_id", "tracking code")],
            (400, 404)),
        "/open311/v2/tokens/{token_id}.json": get(
            "open311Token", "our requests are realtime: a token is its request's code",
            {"type": "array", "items": _obj({"service_request_id": CODE, "token": STR}, closed=True)},
            [_path("token_id", "tracking code")], (400, 404)),
        "/open311/v2/servicerequestupdates.json": get(
            "open311Updates", "mySociety's update feed: public status changes (at most 31 days a call)",
            {"type": "array", "items": _obj({"update_id": STR, "service_request_id": CODE, "status": STR,
                                             "updated_datetime": DATETIME, "description": STR,
                                             "media_url": STR}, closed=True)}, dates),
    }
    paths["/open311/v2/requests.json"] = {
        **get("open311Requests", "service requests, newest first (≤ 90 days; a Link rel=next header for more)",
              requests, [_query("service_request_id", "comma list; overrides the other filters"),
                         _query("service_code", "comma list"),
                         _query("status", "open, closed or both", {"type": "string",
                                                                   "enum": ["open", "closed", "open,closed"]}),
                         *dates, _query("after", "the cursor of a Link rel=next")]),
        "post": {"operationId": "createOpen311Request", "tags": ["open311"], "summary": "a service request",
                 "parameters": [_header("Idempotency-Key", "a retry with the same key creates nothing new")],
                 "requestBody": _body(_obj(
                     {"api_key": STR, "service_code": STR, "description": {"type": "string", "maxLength": 4000}},
                     {"lat": STR, "long": STR, "address_string": STR, "address_id": STR, "attribute[area]": STR,
                      "first_name": STR, "last_name": STR, "phone": STR, "email": STR, "media_url": STR}), FORM),
                 "responses": {"200": {**_json({"type": "array", "items": _obj(
                     {"service_request_id": CODE, "service_notice": STR, "account_id": {"type": "null"}},
                     closed=True)}, "created"), "links": {"request": {"$ref": "#/components/links/Open311Request"}}},
                     **_open311_errors(400, 403, 404)}}}
    return paths


def document(server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document, with `server_url` ('/api/' under the stage, '/' at a domain's root,
    or an absolute URL) as its one server; the paths follow it."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Đường dây nóng 1022 — API",
            "version": "1",
            "summary": "Citizen reports (phản ánh), the staff console's API, Open311 GeoReport v2 and webhooks",
            "description": (
                "JSON is UTF-8; messages are Vietnamese first (`message`), English too (`message_en`). "
                f"Input bounds, checked before parsing: JSON bodies ≤ {MAX_BODY_BYTES // 1024} KiB, nesting ≤ "
                f"{MAX_DEPTH} levels, each string ≤ {MAX_STRING_CHARS:,} characters as sent, each number ≤ "
                f"{MAX_NUMBER_CHARS} characters; ≤ {MAX_QUERY_PARAMS} query parameters of ≤ {MAX_QUERY_VALUE:,} "
                f"characters; dates in filters between {EARLIEST} and {LATEST}. Anything else is a 4xx in the "
                "error shape below, never a 5xx."),
        },
        "servers": [{"url": server_url.rstrip("/") or "/", "description": "this site (its base path included)"}],
        "tags": [{"name": "public", "description": "citizen API, no sign-in, never a reporter's personal data"},
                 {"name": "staff", "description": "the console's use cases, Bearer ID token"},
                 {"name": "admin", "description": "admins (stats: every staff role)"},
                 {"name": "webhooks", "description": "providers' callbacks; each verifies its signature first"},
                 {"name": "open311", "description": "GeoReport v2, JSON forms (.xml works too)"}],
        "paths": _paths(),
        "components": copy.deepcopy(COMPONENTS),
    }
