"""Each Lambda function's own permissions: only the actions and resources its code calls.

`python infra/iam.py` writes infra/iam.json, which infra/package.py merges into the template. It
replaces the `Policies` list of each role Chalice generates (`<Function>Role`), so every grant is
inline in the role: the function depends on its role, and a queue's event-source mapping on its
function, so CloudFormation creates the SQS grant before the mapping that needs it.

tests/package/test_iam.py records every AWS call each handler makes in the tests and fails when one
is not allowed here (the message names the function, the action and the resource), when a grant
uses "*" outside WILDCARD_ONLY, or when infra/iam.json is older than this file.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "iam.json"

# The only actions granted on "*", each because AWS has no narrower resource for the call.
WILDCARD_ONLY = {
    "sns:Publish": "an SMS sent straight to a phone number has no resource ARN; "
                   "publishing to any topic is denied in the same policy",
}


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _arn(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


TICKETS = _arn("TicketsTable")
TICKETS_INDEXES = _sub("${TicketsTable.Arn}/index/*")
IDEMPOTENCY = _arn("IdempotencyTable")
STAGE_SECRETS = _sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/hotline1022/${Stage}/*")
ZALO_TOKEN = _sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/hotline1022/${Stage}/zalo/token")
ANY_IDENTITY = _sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*")
CONFIGURATION_SET = _sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/"
                         "${SesConfigurationSet}")
ANY_TOPIC = _sub("arn:${AWS::Partition}:sns:*:*:*")


def _objects(*prefixes: str) -> list[dict[str, str]]:
    return [_sub(f"${{AttachmentsBucket.Arn}}/{prefix}/*") for prefix in prefixes]


def allow(sid: str, actions: list[str], resources: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def table(sid: str, *actions: str) -> dict[str, Any]:
    """Item actions on the tickets table (every item kind lives in it)."""
    return allow(sid, [f"dynamodb:{a}" for a in actions], TICKETS)


def indexes(sid: str) -> dict[str, Any]:
    return allow(sid, ["dynamodb:Query"], TICKETS_INDEXES)


def send_to(*queues: str) -> dict[str, Any]:
    return allow("SendTo" + "".join(q.removesuffix("Queue") for q in queues), ["sqs:SendMessage"],
                 [_arn(q) for q in queues])


def consume(queue: str, *extra: str) -> dict[str, Any]:
    """What Lambda's poller does with the function's role (the event-source mapping)."""
    return allow("Consume" + queue, ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", *extra],
                 _arn(queue))


# Lambda hands a failed asynchronous invocation (schedules, SNS) to this queue with the function's own role.
ON_FAILURE = allow("OnFailureDestination", ["sqs:SendMessage"], _arn("ScheduleFailuresQueue"))
READ_SECRETS = allow("ReadThisStagesSecrets", ["ssm:GetParameter"], STAGE_SECRETS)
# The refresh token is single-use: only the functions that refresh it may write it, and only this stage's.
WRITE_ZALO_TOKEN = allow("RotateThisStagesZaloToken", ["ssm:PutParameter"], ZALO_TOKEN)
ZALO_LEASE = table("ZaloRefreshLease", "PutItem", "DeleteItem")
# Kept photos and their public copies, deleted when their retention ends or the person asks; uploads
# expire by the bucket's lifecycle, and nobody deletes anything else.
ERASE_PHOTOS = allow("ErasePhotos", ["s3:DeleteObject"], _objects("photos", "public"))
# The search index (one file per month under search/): staff searches read it; only IndexSearch writes it.
READ_SEARCH_INDEX = allow("ReadSearchIndex", ["s3:GetObject"], _objects("search"))
# Without s3:ListBucket S3 answers a missing key 403, like a refusal; with it (for the key, as s3:prefix)
# a month without a file is 404, and a 403 means a real refusal that the search and the indexer report.
LIST_SEARCH_INDEX = {**allow("ListSearchIndex", ["s3:ListBucket"], _arn("AttachmentsBucket")),
                     "Condition": {"StringLike": {"s3:prefix": "search/*"}}}

# Statistics files under exports/ (7-day lifecycle): the API handler writes small spreadsheets and signs
# download links (s3:GetObject); the Reports schedule writes the large exports' files.
EXPORT_FILES = allow("ExportFiles", ["s3:GetObject", "s3:PutObject"], _objects("exports"))

# The knowledge base under kb/: the published index (kb/index-<n>.json.gz: written on publish and expiry,
# read by every search; the one it replaces copied onto itself with a tag, PutObjectTagging, for the lifecycle
# rule that removes it a day later), PDF sources uploaded by staff (kb/uploads/, checked and copied to
# kb/sources/) and their view links.
KB_FILES = allow("KnowledgeBaseFiles", ["s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"],
                 _objects("kb"))

# Routing models under models/routing/ (<version>.json.gz): routing reads the active one; the retrain job
# writes each new one.
READ_ROUTING_MODELS = allow("ReadRoutingModels", ["s3:GetObject"], _objects("models/routing"))
ROUTING_MODELS = allow("RoutingModels", ["s3:GetObject", "s3:PutObject"], _objects("models/routing"))

FUNCTIONS: dict[str, list[dict[str, Any]]] = {
    # Pages, the JSON API, webhooks, Open311 and the staff console.
    "APIHandler": [
        # BatchWriteItem: a person's erasure deletes their Messenger receipt markers (chalicelib/store/receipts.py)
        table("Tickets", "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchWriteItem"),
        indexes("TicketIndexes"),
        allow("IdempotencyRecords", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                                     "dynamodb:DeleteItem"], IDEMPOTENCY),
        send_to("RoutingQueue", "InboundQueue", "NotificationsQueue"),
        READ_SECRETS,  # webhook signing keys
        # Reads uploads to check them, copies them to photos/, writes metadata-free public/ copies,
        # signs the browser's upload POST (s3:PutObject on uploads/) and view links (s3:GetObject).
        allow("Photos", ["s3:GetObject", "s3:PutObject"], _objects("uploads", "photos", "public")),
        ERASE_PHOTOS,  # an admin erases a person's data on request
        READ_SEARCH_INDEX,  # a staff search reads the months' index files
        LIST_SEARCH_INDEX,
        EXPORT_FILES,  # statistics spreadsheets and export jobs' download links
        KB_FILES,  # the knowledge base's index and PDF sources
        READ_ROUTING_MODELS,  # re-categorising without a category routes with the active model
        allow("StaffAccounts", ["cognito-idp:AdminCreateUser", "cognito-idp:AdminAddUserToGroup",
                                "cognito-idp:AdminEnableUser", "cognito-idp:AdminDisableUser",
                                "cognito-idp:AdminUserGlobalSignOut", "cognito-idp:ListUsersInGroup",
                                "cognito-idp:AdminGetUser", "cognito-idp:AdminListGroupsForUser",
                                "cognito-idp:AdminRemoveUserFromGroup", "cognito-idp:AdminUpdateUserAttributes",
                                "cognito-idp:AdminDeleteUserAttributes"],
              _arn("StaffUserPool")),
    ],
    # SQS consumers.
    "RouteTickets": [
        consume("RoutingQueue"),
        # Query: a ticket is read with its body item; BatchGetItem: the KB index's articles, when the
        # auto-answer finds no index stored yet and builds it (chalicelib/services/kb.py)
        table("Tickets", "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query"),
        KB_FILES,  # the auto-answer reads the knowledge base's index
        READ_ROUTING_MODELS,  # the active routing model
        send_to("NotificationsQueue"),
    ],
    "HandleInbound": [
        consume("InboundQueue"),
        # DeleteItem: a Messenger read receipt removes the markers of the messages it covers
        table("Tickets", "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"),
        indexes("TicketIndexes"),
        send_to("RoutingQueue", "NotificationsQueue"),
        # Messenger images are copied from Meta's expiring links into photos/ (chalicelib/services/conversations.py)
        allow("MessengerPhotos", ["s3:PutObject"], _objects("photos")),
    ],
    "SendNotifications": [
        consume("NotificationsQueue", "sqs:ChangeMessageVisibility"),  # backoff on one message
        # PutItem: a sent Messenger message's receipt marker (chalicelib/store/receipts.py)
        # BatchGetItem + index Query: a Messenger reply past 24 h reads the person's other tickets (by_zalo) for
        # their latest message (chalicelib/services/delivery.py)
        table("Tickets", "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query"),
        indexes("TicketIndexes"),
        ZALO_LEASE,
        READ_SECRETS,  # provider credentials and the Zalo token
        WRITE_ZALO_TOKEN,  # when Zalo rejects the token mid-send
        # In the SES sandbox a send is also authorised on each recipient's identity, so the grant is on
        # identity/* but only ever from the stack's sender address.
        {**allow("EmailFromTheSender", ["ses:SendEmail"], [ANY_IDENTITY, CONFIGURATION_SET]),
         "Condition": {"StringEquals": {"ses:FromAddress": {"Ref": "SesFromAddress"}}}},
        allow("SmsToPhoneNumbers", ["sns:Publish"], "*"),
        {"Sid": "NoTopics", "Effect": "Deny", "Action": ["sns:Publish"], "Resource": ANY_TOPIC},
    ],
    # Schedules.
    "SweepUnrouted": [
        ON_FAILURE,
        table("Tickets", "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query"),  # its cursor, and SMSSync hand-backs
        indexes("TicketIndexes"),
        send_to("RoutingQueue", "NotificationsQueue"),
    ],
    "CallbackReminders": [
        ON_FAILURE,
        table("Tickets", "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query"),
        indexes("TicketIndexes"),
        send_to("NotificationsQueue"),
    ],
    "DeadlineWatch": [
        ON_FAILURE,
        table("Tickets", "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query"),
        indexes("TicketIndexes"),
        send_to("NotificationsQueue"),
    ],
    "DailyDigest": [
        ON_FAILURE,
        table("Tickets", "GetItem", "BatchGetItem", "PutItem"),
        indexes("TicketIndexes"),
        send_to("NotificationsQueue"),
    ],
    "AnonymiseExpired": [
        ON_FAILURE,
        # Query: a ticket with its body, its timeline, messages and callbacks; the markers of its
        # followers (DeleteItem); its cursor through older tickets (PutItem)
        table("Tickets", "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"),
        indexes("TicketIndexes"),  # by_watch (P#0..3), by_month
        ERASE_PHOTOS,
    ],
    "IndexSearch": [
        ON_FAILURE,
        # its state (the cursor: GetItem, PutItem), the reindex requests (Query, DeleteItem), the tickets
        # it indexes (BatchGetItem)
        table("Tickets", "GetItem", "BatchGetItem", "PutItem", "DeleteItem", "Query"),
        indexes("TicketIndexes"),  # by_month
        allow("SearchIndexFiles", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], _objects("search")),
        LIST_SEARCH_INDEX,
    ],
    "ExportAnalytics": [
        ON_FAILURE,
        # the reference data's calendar (GetItem), tickets (BatchGetItem), their timelines and callbacks (Query)
        table("Tickets", "GetItem", "BatchGetItem", "Query"),
        indexes("TicketIndexes"),  # by_month, by_update
        # replaces a day's file (or deletes it when no ticket of that day is left); reads nothing back
        allow("AnalyticsFiles", ["s3:PutObject", "s3:DeleteObject"], _objects("analytics")),
    ],
    "Reports": [
        ON_FAILURE,
        # the export jobs (GetItem, Query of the waiting ones, UpdateItem, DeleteItem of the marker), the
        # figures' counters and the tickets behind them (Query, BatchGetItem), the report's "sent" mark
        # (PutItem, DeleteItem), its e-mails (PutItem of outbound items)
        table("Tickets", "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"),
        indexes("TicketIndexes"),
        EXPORT_FILES,
        send_to("NotificationsQueue"),
    ],
    "KbExpiry": [
        ON_FAILURE,
        # the live articles (Query), each one's working copy (GetItem), the index's versions (BatchGetItem),
        # the expiry's transaction (PutItem, UpdateItem, DeleteItem) and the owner's e-mail (PutItem)
        table("Tickets", "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"),
        KB_FILES,
        send_to("NotificationsQueue"),
    ],
    "RetrainRouting": [
        ON_FAILURE,
        # the corrections (Query), the models' history and active pointer (GetItem, PutItem, UpdateItem,
        # Query), an admin's request (GetItem, DeleteItem), the reference data (GetItem)
        table("Tickets", "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"),
        ROUTING_MODELS,
    ],
    # SES bounces and complaints (SNS).
    "SesEvents": [
        ON_FAILURE,
        table("Tickets", "UpdateItem"),
    ],
    "RefreshZaloToken": [
        ON_FAILURE,
        ZALO_LEASE,
        READ_SECRETS,
        WRITE_ZALO_TOKEN,
    ],
}


def role_name(function: str) -> str:
    """The role Chalice generates for a function (its API handler's is `ApiHandlerRole`)."""
    return "ApiHandlerRole" if function == "APIHandler" else f"{function}Role"


def policy(function: str) -> dict[str, Any]:
    logs = allow("OwnLogGroup", ["logs:CreateLogStream", "logs:PutLogEvents"], _arn(f"{function}LogGroup"))
    return {"PolicyName": f"{function}Policy",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [logs, *FUNCTIONS[function]]}}


def overlay() -> dict[str, Any]:
    """The iam.json overlay: each role's Policies list (the deep merge replaces Chalice's)."""
    return {"Resources": {role_name(f): {"Properties": {"Policies": [policy(f)]}} for f in FUNCTIONS}}


def render() -> str:
    return json.dumps(overlay(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT.name}: {len(FUNCTIONS)} roles")
