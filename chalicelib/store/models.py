"""PynamoDB models of the tickets table (one table, prefixed keys). Only chalicelib/store uses them.

Access patterns (every one is a key or an index; nothing here ever Scans):

| query                                         | served by                                              |
|-----------------------------------------------|--------------------------------------------------------|
| ticket by tracking code (with its body)       | Query pk=TICKET#<code>, sk begins_with TICKET          |
| a ticket's timeline, in order                 | Query pk=TICKET#<code>, sk begins_with EVENT#          |
| open tickets of an agency, by due time        | GSI by_agency_due: agency_open=<agency>, due_sort      |
| tickets in a status, by due time (schedulers) | GSI by_status_due: status=<status>, due_sort           |
| every open ticket, by due time (staff inbox)  | GSI by_open: open_queue=OPEN, due_sort                 |
| tickets by reporter phone, newest first       | GSI by_phone: reporter_phone=<E.164>, created_at       |
| tickets by reporter Zalo id, newest first     | GSI by_zalo: reporter_zalo_id=<id>, created_at         |
| tickets by Messenger PSID, newest first       | GSI by_zalo (shared): reporter_zalo_id=<PSID>, filter channel=facebook |
| reference data (current version)              | GetItem pk=REF, sk=CURRENT                             |
| reference data history, newest first · one version | Query pk=REF, sk begins_with V# · GetItem sk=V#<000123> |
| admins' audit trail, newest first, filtered   | Query pk=AUDIT#<yyyy-mm>, sk between dates, filter kind/actor |
| was this submission / provider message seen?  | GetItem pk=DEDUP#<sha256 of scope#key>, sk=DEDUP (TTL'd)|
| a ticket's outbound messages and their state  | Query pk=TICKET#<code>, sk begins_with OUT#            |
| a long Messenger reply's parts already sent   | UpdateItem pk=TICKET#<code>, sk=OUT#… SET parts_sent if state=sending |
| a Messenger person's latest message (window)  | GSI by_zalo: reporter_zalo_id=<PSID> (their tickets' last_inbound_at) |
| outbound still pending (sweeper)              | GSI by_status_due: status=out#pending, due_sort        |
| SMS waiting for an SMSSync phone to poll      | GSI by_status_due: status=out#device#<device>, due_sort|
| auto-replies to a sender this hour (cap)      | UpdateItem pk=RATE#AUTO#<digest>#<yyyymmddhh> ADD n    |
| status lookups of a source today, per code   | UpdateItem pk=RATE#LOOKUP#SRC#<sha256>#<yyyymmdd> ADD n, part_<code> |
| tickets whose 80% mark or deadline has come   | GSI by_watch: watch_shard=W#0..3, watch_at <= now      |
| callbacks owing a reminder, by time           | GSI by_status_due: status=cb#open / cb#soon, due_sort  |
| a ticket's callbacks                          | Query pk=TICKET#<code>, sk begins_with CALLBACK#       |
| response templates                            | Query pk=TEMPLATES                                     |
| published answers, newest first (public list) | GSI by_public: public_shard=PUB, public_sort=<answered>#<code> |
| open tickets of a category in a commune       | GSI by_place: place_open=<category>#<area>, created_at |
| tickets created in a month (Open311 requests) | GSI by_month: created_month=<yyyy-mm>, created_at      |
| public status changes of a day (Open311)      | GSI by_update: update_day=<yyyy-mm-dd>, at (events)     |
| a ticket's satisfaction rating                | GetItem pk=TICKET#<code>, sk=RATING (put if absent)     |
| rating statistics per month and category      | UpdateItem pk=STATS, sk=RATING#<yyyy-mm>#<category> ADD |
| statistics counters of a day per channel, category, agency, commune | UpdateItem pk=STATS#<yyyy-mm>, sk=D#<dd>#<combo> ADD (in the ticket's transaction); Query sk between (today's, and to build a day summary) |
| per-operator workload of a day                | UpdateItem pk=STATS#<yyyy-mm>, sk=O#<dd>#<digest of the e-mail> ADD; Query sk between |
| a closed day's / month's statistics summary   | BatchGetItem pk=STATS#<yyyy-mm>, sk=DSUM#<dd> / SUM with sk=DIRTY (its stale counters d01..d31 / handled, ADDed in the writes' transactions) |
| the open backlog's ages (when each open ticket was received) | BatchGetItem pk=TICKET#<code>, sk=TICKET (100 a call, only created_at) after Query GSI by_open |
| call-centre figures per hour (calls, outcomes, wait, talk, callbacks) | UpdateItem pk=STATS#<yyyy-mm>, sk=C#<dd>#<hh> ADD (in the call's / the task's transaction); Query sk between |
| Open311 integrators · an API key's integrator | Query pk=INTEGRATORS · GetItem pk=APIKEY#<sha256>      |
| contacts with bounces / complaints            | Query pk=CONTACT_HEALTH                                |
| quarantined payloads, newest first            | Query pk=QUARANTINE (TTL'd)                            |
| where a person appears outside their tickets  | Query pk=PERSON#<digest of phone / Zalo id>            |
| tickets whose retention has run out           | GSI by_watch: watch_shard=P#0..3, watch_at <= now      |
| who holds a lease (Zalo token refresher)      | PutItem pk=LEASE#<name> if absent or expired           |
| where a scheduled job stopped (its cursor)    | GetItem / UpdateItem pk=CURSOR#<job>, sk=CURSOR (versioned) |
| tickets the search index must read again      | Query pk=SEARCH#REINDEX, sk=<yyyy-mm>#<code> (TTL'd)   |
| the ticket a personal status link shows       | GetItem pk=STATUS#<sha256 of the token>, sk=STATUS     |
| a ticket's status links (to delete on erasure) | Query pk=TICKET#<code>, sk begins_with STATUS#        |
| tickets with a citizen message since staff acted ("Có tin mới") | Query pk=INBOX#UNREAD (sk=<code>) |
| a staff member's tickets ("Việc của tôi")     | Query pk=MINE#<sha256 of the e-mail> (sk=<code>)        |
| who else has a ticket open (presence)         | Query pk=PRESENCE#<code>, filter at >= now-90 s (TTL'd) |
| inbox counts per view and agency (cached 20 s)| GetItem pk=INBOX#COUNTS, sk=COUNTS; rebuilt from by_open + INBOX#UNREAD |
| tickets created since a moment ("n mới" poll) | GSI by_month: created_month, created_at > since (COUNT) |
| an export job (state, file) · jobs waiting     | GetItem pk=EXPORT#<id>, sk=JOB · Query pk=EXPORTS#PENDING (TTL'd) |
| was this month's report sent?                 | PutItem pk=REPORT#<yyyy-mm>, sk=SENT if absent          |
| low ratings (1-2) of a month (the report)     | Query pk=RATED_LOW#<yyyy-mm>, sk=<at>#<code> (written with the rating) |
| a KB article (working copy) · its versions    | GetItem pk=KB#<id>, sk=ARTICLE · Query pk=KB#<id>, sk begins_with V# |
| KB articles in a status (staff list)          | Query pk=KB#S#<status> (sk=<id>; marker moved in the article's transaction) |
| live KB articles (index build, expiry)        | Query pk=KB#LIVE (sk=<id>, live version, valid_until), BatchGetItem the V# items |
| the KB index's pointer (S3 key, build number) | GetItem pk=KB#INDEX, sk=POINTER (bumped with every KB#LIVE change) |
| KB gaps (questions no article fits), newest first | Query pk=KB#GAPS, sk=<at>#<token>, ScanIndexForward=false (TTL'd) |
| a ticket's KB gaps (erasure deletes them)      | Query pk=KB#GAPS#<code> (sk=the gap's sk; written with the gap; TTL'd) |
| KB article uses of a month (most used)        | UpdateItem pk=KB#USE#<yyyy-mm>, sk=<id> ADD n; Query pk   |
| categories answered automatically from the KB | GetItem pk=KB#SETTINGS, sk=AUTO_ANSWER (version-checked) |
| the duty roster and who is away (answer_url)  | GetItem pk=ROSTER, sk=CURRENT (versioned; away map set by UpdateItem); cold container: BatchGetItem with pk=REF, sk=CURRENT |
| a call: its facts, each event once (telephony) | GetItem / UpdateItem pk=CALL#<call id>, sk=CALL (ADD statuses, conditional per status; TTL'd) |
| the calls of a day (call log), newest first    | Query pk=CALLS#<yyyy-mm-dd>, sk=<offered at>#<call id> (no phone; filter outcome) |
| calls ringing or answered now (screen-pop)     | Query pk=LIVECALL (sk=<call id>, TTL'd; filter expires_at > now) |
| a caller's calls, newest first                 | Query pk=PERSON#<digest of the phone>, sk begins_with CALL# (a number that is no Vietnamese phone: the digest of '+' and its digits, domain.calls.raw_caller_key) |
| a caller's open call task (merges repeats)     | UpdateItem pk=CALLTASK#<digest of the phone>, sk=OPEN (upsert); closed: sk=DONE#<at> |
| open call tasks, earliest due (and reminders)  | GSI by_status_due: status=cb#open / cb#soon / cb#reminded, filter pk begins_with CALLTASK# |
| our Messenger messages to a PSID sent up to a time (delivery / read receipts) | Query pk=FBOUT#<PSID>, sk <= <sent epoch ms, 13 digits>#~ (TTL'd, 8 days); UpdateItem the OUT# item's receipt if not read; a person's erasure: Query pk=FBOUT#<PSID>, batch delete |
| routing corrections (training examples), oldest first | Query pk=TRAIN#CORR, sk=<at>#<code>#<token> (TTL'd: the retention schedule) |
| a ticket's routing corrections (erasure deletes them) | Query pk=TRAIN#OF#<code> (sk=the correction's sk; written with it; TTL'd) |
| routing models: active pointer · history newest first · one version | GetItem pk=RMODEL, sk=ACTIVE (seq-checked; cold container: BatchGetItem with pk=REF, sk=CURRENT) · Query pk=RMODEL, sk begins_with V# · GetItem sk=V#<version> |

`agency_open` is set only while a ticket is open and assigned, so the agency index holds
exactly the agency's open work; `open_queue` likewise only while it is open. `due_sort` is the ISO due time, or NO_DUE so tickets without
a deadline sort last. Table, index and key names must match infra/resources.json.

Projections (an index entry is rewritten only when what it projects changes, so they hold little):
by_status_due, by_open and by_agency_due project the inbox filters (INBOX_FILTERS, and status);
by_phone, by_zalo and by_watch keys only; by_month what an Open311 request shows (OPEN311_FIELDS);
by_public, by_place and by_update the public fields their readers show. A reader that needs more reads the whole items behind an index page with one
BatchGetItem per 100 keys (chalicelib.store.pages.full).
"""
from __future__ import annotations

import hashlib
import zlib
from typing import Any

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.constants import BINARY
from pynamodb.models import Model

NO_DUE = "9999-12-31T23:59:59"
TICKET_SK = "TICKET"
BODY_SK = "TICKET#BODY"
# What a ticket says and who said it: written once, in its own item beside the ticket, so the ticket
# item that every change rewrites stays under one write unit (1 KB).
BODY_FIELDS = ("text", "attachments", "reporter_name", "reporter_email", "address")


def ticket_pk(code: str) -> str:
    return f"TICKET#{code}"


def dedup_pk(key: str) -> str:
    """A dedup marker's key: a digest of the submission or provider message key, which can carry a
    sender (a Zalo follow event's key names the Zalo user)."""
    return f"DEDUP#{hashlib.sha256(key.encode('utf-8')).hexdigest()[:40]}"


# What the inbox filters on: the only non-key attributes the work-queue indexes project
# (infra/resources.json), so a ticket's other changes never rewrite their entries.
INBOX_FILTERS = ["category", "channel", "agency", "held", "needs_callback"]
# What an Open311 service request shows (chalicelib.domain.open311.request): by_month's projection.
OPEN311_FIELDS = ["tracking_code", "status", "category", "agency", "updated_at", "due_at", "public_shard",
                  "public_question", "public_answer", "lat", "lon", "photos_public"]


class CompressedText(Attribute[str]):
    """Text stored zlib-compressed (a binary value): an e-mail's HTML part takes about half the
    bytes then, and its outbound item is written three times (stored, claimed, sent)."""

    attr_type = BINARY

    def serialize(self, value: str) -> bytes:
        return zlib.compress(value.encode("utf-8"), 9)

    def deserialize(self, value: bytes) -> str:
        return zlib.decompress(value).decode("utf-8")


class _Meta:
    # Bound to the real table name on first use by chalicelib.store.connection.
    table_name = "unbound"


class ByAgencyDue(GlobalSecondaryIndex["TicketModel"]):
    class Meta:
        index_name = "by_agency_due"
        projection = IncludeProjection([*INBOX_FILTERS, "status"])

    agency_open = UnicodeAttribute(hash_key=True)
    due_sort = UnicodeAttribute(range_key=True)


class ByStatusDue(GlobalSecondaryIndex["TicketModel"]):
    class Meta:
        index_name = "by_status_due"
        projection = IncludeProjection(INBOX_FILTERS)

    status = UnicodeAttribute(hash_key=True)
    due_sort = UnicodeAttribute(range_key=True)


class ByOpen(GlobalSecondaryIndex["TicketModel"]):
    class Meta:
        index_name = "by_open"
        projection = IncludeProjection([*INBOX_FILTERS, "status"])

    open_queue = UnicodeAttribute(hash_key=True)
    due_sort = UnicodeAttribute(range_key=True)


class ByPublic(GlobalSecondaryIndex["TicketModel"]):
    class Meta:
        index_name = "by_public"
        projection = AllProjection()  # the table projects only the public fields (infra/resources.json)

    public_shard = UnicodeAttribute(hash_key=True)
    public_sort = UnicodeAttribute(range_key=True)


class ByPlace(GlobalSecondaryIndex["TicketModel"]):
    class Meta:
        index_name = "by_place"
        projection = AllProjection()  # public summary fields only, see infra/resources.json

    place_open = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ByMonth(GlobalSecondaryIndex["TicketModel"]):
    class Meta:
        index_name = "by_month"
        projection = IncludeProjection(OPEN311_FIELDS)

    created_month = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ByPhone(GlobalSecondaryIndex["TicketModel"]):
    class Meta:
        index_name = "by_phone"
        projection = KeysOnlyProjection()

    reporter_phone = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ByZalo(GlobalSecondaryIndex["TicketModel"]):
    class Meta:
        index_name = "by_zalo"
        projection = KeysOnlyProjection()

    reporter_zalo_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class ByWatch(GlobalSecondaryIndex["TicketModel"]):
    class Meta:
        index_name = "by_watch"
        projection = KeysOnlyProjection()

    watch_shard = UnicodeAttribute(hash_key=True)
    watch_at = UnicodeAttribute(range_key=True)


class AttachmentMap(MapAttribute):
    key = UnicodeAttribute()
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()


class FollowerMap(MapAttribute):
    """A reporter who follows a ticket (theirs was merged into it): where their answer goes."""

    tracking_code = UnicodeAttribute()
    channel = UnicodeAttribute()
    provider = UnicodeAttribute()
    recipient = UnicodeAttribute()
    device = UnicodeAttribute(null=True)  # the SMSSync phone that should send it


class TicketModel(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=TICKET_SK)
    tracking_code = UnicodeAttribute()
    channel = UnicodeAttribute()
    reporter_name = UnicodeAttribute(null=True)
    reporter_phone = UnicodeAttribute(null=True)
    reporter_email = UnicodeAttribute(null=True)
    reporter_zalo_id = UnicodeAttribute(null=True)
    entered_by = UnicodeAttribute(null=True)
    text = UnicodeAttribute(null=True)  # BODY_FIELDS live in the TicketBodyModel item; read merged
    category = UnicodeAttribute(null=True)
    area = UnicodeAttribute(null=True)
    address = UnicodeAttribute(null=True)
    lat = NumberAttribute(null=True)
    lon = NumberAttribute(null=True)
    attachments = ListAttribute(of=AttachmentMap, null=True)
    consent_publish = BooleanAttribute(default=False)
    reply_via = UnicodeAttribute(null=True)
    last_inbound_at = UTCDateTimeAttribute(null=True)
    # The provider's id of the citizen's latest Zalo message: staff replies quote it (free, not billed).
    last_inbound_ref = UnicodeAttribute(null=True)
    needs_callback = BooleanAttribute(default=False)
    overdue = BooleanAttribute(default=False)
    warn_at = UTCDateTimeAttribute(null=True)
    watch_shard = UnicodeAttribute(null=True)
    watch_at = UnicodeAttribute(null=True)
    watch_stage = UnicodeAttribute(null=True)
    paused_at = UTCDateTimeAttribute(null=True)
    status = UnicodeAttribute()
    agency = UnicodeAttribute(null=True)
    agency_open = UnicodeAttribute(null=True)
    open_queue = UnicodeAttribute(null=True)
    merged_into = UnicodeAttribute(null=True)
    related_to = UnicodeAttribute(null=True)  # the sender's ticket this one continues or was split from
    answer = UnicodeAttribute(null=True)
    answered_at = UTCDateTimeAttribute(null=True)
    answered_on_time = BooleanAttribute(null=True)
    # Publication (only with the reporter's consent and a staff member's approval)
    public_question = UnicodeAttribute(null=True)
    public_answer = UnicodeAttribute(null=True)
    public_shard = UnicodeAttribute(null=True)
    public_sort = UnicodeAttribute(null=True)
    photos_public = ListAttribute(of=UnicodeAttribute, null=True)
    # Duplicate suggestions: set while open and both category and commune are known
    place_open = UnicodeAttribute(null=True)
    created_month = UnicodeAttribute(null=True)
    public_summary = UnicodeAttribute(null=True)
    held = BooleanAttribute(null=True)
    survey_sent = BooleanAttribute(null=True)
    survey_token = UnicodeAttribute(null=True)
    # Reporters of tickets merged into this one: they follow it and receive its answer.
    followers = ListAttribute(of=FollowerMap, null=True)
    due_at = UTCDateTimeAttribute(null=True)
    due_sort = UnicodeAttribute(default=NO_DUE)
    # Personal data (docs/privacy.md): the privacy notice version and the consents that applied
    # when the ticket was made; when its personal data was removed; why it must be kept (legal hold).
    notice_version = UnicodeAttribute(null=True)
    consent_contact = BooleanAttribute(null=True)
    anonymised_at = UTCDateTimeAttribute(null=True)
    first_action_at = UTCDateTimeAttribute(null=True)  # the first staff action (statistics)
    # The counted events it has had ("created", then reopened/rejected/redirected/merged, ADDed with the
    # change): the list behind such a figure reads the timelines of those tickets only. None: a ticket from
    # before it was kept (its timeline is read).
    stats_kinds = UnicodeSetAttribute(null=True)
    anonymising_at = UTCDateTimeAttribute(null=True)  # claimed: its removal began, the next run finishes it
    legal_hold = UnicodeAttribute(null=True)  # the reason staff gave; None when not held
    # Who works on it ("Việc của tôi"): a staff e-mail and display name; its MINE# marker is written with it.
    assignee = UnicodeAttribute(null=True)
    assignee_name = UnicodeAttribute(null=True)
    # An assignee who is an agency officer sees only that agency's tickets: moved elsewhere, it leaves them.
    assignee_agency = UnicodeAttribute(null=True)
    # Who decided its category last: "keywords" | "model" | "both" (the router) or "staff" (a correction's "before")
    route_source = UnicodeAttribute(null=True)
    # "question" (hỏi đáp) or "complaint" (phản ánh), set when it is routed (chalicelib.domain.questions)
    kind = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    by_agency_due = ByAgencyDue()
    by_status_due = ByStatusDue()
    by_open = ByOpen()
    by_public = ByPublic()
    by_place = ByPlace()
    by_month = ByMonth()
    by_phone = ByPhone()
    by_zalo = ByZalo()
    by_watch = ByWatch()


class TicketBodyModel(Model):
    """A ticket's BODY_FIELDS (pk=TICKET#<code>, sk=TICKET#BODY): written with the ticket in its
    creating transaction and never rewritten; chalicelib.store.tickets merges it into the ticket it
    reads. In no index."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=BODY_SK)
    text = UnicodeAttribute()
    attachments = ListAttribute(of=AttachmentMap, null=True)
    reporter_name = UnicodeAttribute(null=True)
    reporter_email = UnicodeAttribute(null=True)
    address = UnicodeAttribute(null=True)


class ByUpdate(GlobalSecondaryIndex["EventModel"]):
    class Meta:
        index_name = "by_update"
        projection = AllProjection()

    update_day = UnicodeAttribute(hash_key=True)
    at = UTCDateTimeAttribute(range_key=True)


class EventModel(Model):
    """A timeline event. Append-only: written with attribute_not_exists, never updated."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    actor = UnicodeAttribute()
    public = BooleanAttribute(default=False)
    public_text = UnicodeAttribute(null=True)
    detail = JSONAttribute(null=True)
    at = UTCDateTimeAttribute()
    update_day = UnicodeAttribute(null=True)   # public events only: the Open311 update feed
    status_after = UnicodeAttribute(null=True)

    by_update = ByUpdate()


class DedupModel(Model):
    """Marks a form submission or provider message as handled. Written in the same transaction
    as its effect, so a retry either finds the marker or finds nothing done."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="DEDUP")
    tracking_code = UnicodeAttribute()
    expires_at = TTLAttribute()


class OutboundByStatusDue(GlobalSecondaryIndex["OutboundModel"]):
    class Meta:
        index_name = "by_status_due"
        projection = IncludeProjection(INBOX_FILTERS)

    status = UnicodeAttribute(hash_key=True)
    due_sort = UnicodeAttribute(range_key=True)


class OutboundModel(Model):
    """One message to a citizen and its own delivery state (never the ticket's status).

    state: pending -> sending (claimed by one worker) -> sent | pending (retry) | fallback (sent another
    way) | callback (nobody reachable) | dead (gave up; stays for operators); pending -> suppressed
    (auto-reply cap) | device_queued -> device_handed -> sent (SMSSync phone).
    `status`/`due_sort` put it in the status index while someone still has to act on it; a claim
    (`claimed_until`) leaves them as they are, so claiming costs no index write.
    """

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    tracking_code = UnicodeAttribute(null=True)
    kind = UnicodeAttribute()
    channel = UnicodeAttribute()
    provider = UnicodeAttribute()
    recipient = UnicodeAttribute()
    text = UnicodeAttribute()
    automated = BooleanAttribute(default=True)
    state = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    provider_ref = UnicodeAttribute(null=True)
    reply_to = UnicodeAttribute(null=True)  # the citizen message an automated reply answers (Zalo quotes it)
    subject = UnicodeAttribute(null=True)
    html = CompressedText(null=True)
    claimed_until = UTCDateTimeAttribute(null=True)  # state sending: the worker's claim runs out then
    receipt = UnicodeAttribute(null=True)  # Messenger: "delivered" | "read" (never back from read; store/receipts.py)
    receipt_at = UTCDateTimeAttribute(null=True)
    parts_sent = NumberAttribute(null=True)  # a long Messenger text sent in parts: how many went out so far
    follower = BooleanAttribute(null=True)  # a status notice to a ticket's follower, not to its reporter
    status = UnicodeAttribute(null=True)
    due_sort = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # A message stored without a ticket (OUTBOX#…: a welcome, a status answer) expires with the
    # retention of outbound texts; a ticket's messages go with the ticket's anonymisation.
    expires_at = TTLAttribute(null=True)

    by_status_due = OutboundByStatusDue()


class MessengerSentModel(Model):
    """A Messenger message we sent, found by its recipient's PSID and send time (pk=FBOUT#<PSID>,
    sk=<sent epoch ms, 13 digits>#<mid>) so a delivery / read receipt's watermark finds our OUT#
    items by a Query of its partition (chalicelib.store.receipts). Deleted once read; expires after 8 days."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    out_pk = UnicodeAttribute()
    out_sk = UnicodeAttribute()
    expires_at = TTLAttribute()


class QuarantineModel(Model):
    """A payload an authenticated provider sent that we could not read, kept for an operator."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, default="QUARANTINE")
    sk = UnicodeAttribute(range_key=True)
    provider = UnicodeAttribute()
    reason = UnicodeAttribute()
    raw = UnicodeAttribute()
    received_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class RateModel(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    n = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


class CallbackByStatusDue(GlobalSecondaryIndex["CallbackModel"]):
    class Meta:
        index_name = "by_status_due"
        projection = IncludeProjection(INBOX_FILTERS)

    status = UnicodeAttribute(hash_key=True)
    due_sort = UnicodeAttribute(range_key=True)


class CallbackModel(Model):
    """A call back an operator promised (gọi lại): when, why, who; reminders sent per stage."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    tracking_code = UnicodeAttribute()
    due_at = UTCDateTimeAttribute()
    reason = UnicodeAttribute()
    operator = UnicodeAttribute()
    operator_email = UnicodeAttribute(null=True)
    operator_phone = UnicodeAttribute(null=True)
    reminded = UnicodeSetAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    due_sort = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    # A call task (pk=CALLTASK#<digest of the phone>, chalicelib.store.calls): the caller, the calls
    # merged into it, the first and last of them; `tracking_code` is "" (no ticket yet).
    caller = UnicodeAttribute(null=True)
    calls = NumberAttribute(null=True)
    call_ids = UnicodeSetAttribute(null=True)
    first_at = UTCDateTimeAttribute(null=True)
    last_at = UTCDateTimeAttribute(null=True)
    last_outcome = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)
    closed_by = UnicodeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    # A call task's last "Gọi lại": when, its call, who; `attempt_result` "no_answer" once that call
    # ended unanswered (an answered one with talk time closes the task).
    attempt_at = UTCDateTimeAttribute(null=True)
    attempt_call = UnicodeAttribute(null=True)
    attempt_by = UnicodeAttribute(null=True)
    attempt_result = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    by_status_due = CallbackByStatusDue()


class ContactHealthModel(Model):
    """Bounces and complaints SES reported for a staff address (shown to admins)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, default="CONTACT_HEALTH")
    sk = UnicodeAttribute(range_key=True)
    bounces = NumberAttribute(default=0)
    complaints = NumberAttribute(default=0)
    last_type = UnicodeAttribute(null=True)
    last_at = UTCDateTimeAttribute(null=True)


class LeaseModel(Model):
    """A short exclusive lease (e.g. "one Zalo token refresher at a time")."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="LEASE")
    holder = UnicodeAttribute()
    until = NumberAttribute()
    expires_at = TTLAttribute()


class ExportJobModel(Model):
    """A background export (chalicelib.store.export_jobs): the job (pk=EXPORT#<id>, sk=JOB) holds
    who asked, what and its state; while it waits, a marker (pk=EXPORTS#PENDING, sk=<at>#<id>) lets
    the worker find it with one Query. Both expire (TTL) with the file they point to."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    job_id = UnicodeAttribute()
    owner = UnicodeAttribute(null=True)      # the staff member's Cognito sub: only they fetch the link
    request = UnicodeAttribute(null=True)    # JSON: the viewer's scope, the query, the figure, the format
    state = UnicodeAttribute(null=True)      # waiting | done | failed (a claimed job stays waiting, leased)
    key = UnicodeAttribute(null=True)        # the file in S3 (exports/<id>/<name>)
    rows = NumberAttribute(null=True)
    attempts = NumberAttribute(null=True)    # runs that claimed it; failed after MAX_ATTEMPTS (store/export_jobs.py)
    claimed_until = UTCDateTimeAttribute(null=True)  # a run's lease: no other run takes the job before this
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class CursorModel(Model):
    """Where a scheduled job's last run stopped, so the next run continues there (a bounded page
    per run). `n` counts the writes: a run saves only over the version it read."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="CURSOR")
    value = UnicodeAttribute(null=True)
    n = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute()


class StatusLinkModel(Model):
    """A personal status link (/s/<token>), as two items written together: the lookup
    (pk=STATUS#<sha256 of the token>, sk=STATUS) and its entry in the ticket's partition
    (pk=TICKET#<code>, sk=STATUS#<the same digest>), by which an erasure finds and deletes both.
    The token itself is never stored. `who`: reporter or follower; `person`: a follower's
    chalicelib.store.people.person_digest, so erasing that follower ends their link."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    tracking_code = UnicodeAttribute()
    who = UnicodeAttribute()
    person = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class SearchRequestModel(Model):
    """A ticket the search index must read again (its personal data was removed): written by the
    privacy service, deleted by the indexer once its index file no longer holds what went; TTL'd
    as a backstop (the indexer's daily re-read of every month finds the change too)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, default="SEARCH#REINDEX")
    sk = UnicodeAttribute(range_key=True)
    at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class ResponseTemplateModel(Model):
    """A canned answer (mẫu trả lời) for a category, with {placeholders}; admins edit them."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, default="TEMPLATES")
    sk = UnicodeAttribute(range_key=True)
    category = UnicodeAttribute(null=True)
    title = UnicodeAttribute()
    body = UnicodeAttribute()
    updated_by = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class KbArticleModel(Model):
    """A knowledge-base article's working copy (sk=ARTICLE) or one saved version of it (sk=V#<000001>),
    same attributes (chalicelib/domain/kb.py); `live_version` only on the working copy."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    article_id = UnicodeAttribute()
    version = NumberAttribute()
    status = UnicodeAttribute()
    kind = UnicodeAttribute(default="article")
    title = UnicodeAttribute()
    questions = ListAttribute(of=UnicodeAttribute, default=list)
    answer = UnicodeAttribute()
    short_answer = UnicodeAttribute(null=True)
    category = UnicodeAttribute()
    agency = UnicodeAttribute()
    source_number = UnicodeAttribute(null=True)
    source_date = UnicodeAttribute(null=True)
    source_body = UnicodeAttribute(null=True)
    source_url = UnicodeAttribute(null=True)
    source_pdf = UnicodeAttribute(null=True)   # S3 key kb/sources/<id>/<hex>.pdf
    valid_from = UnicodeAttribute(null=True)
    valid_until = UnicodeAttribute(null=True)
    owner = UnicodeAttribute()                 # the e-mail of the staff member who created it (expiry notice)
    live_version = NumberAttribute(null=True)  # the version readers see; None while nothing is published
    action = UnicodeAttribute(null=True)       # on a version: what made it (save, submit, publish ...)
    updated_by = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()


class KbMarkerModel(Model):
    """The KB's small items beside the articles: status listings, the live listing, the index pointer,
    gaps and their per-ticket markers, use counters and the auto-answer switch (pk KB#S#<status> | KB#LIVE |
    KB#INDEX | KB#GAPS | KB#GAPS#<code> |
    KB#USE#<yyyy-mm> | KB#SETTINGS)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    article_id = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    agency = UnicodeAttribute(null=True)
    category = UnicodeAttribute(null=True)
    kind = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    valid_until = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    text = UnicodeAttribute(null=True)          # a gap's question
    code = UnicodeAttribute(null=True)          # the ticket a gap or use came from
    actor = UnicodeAttribute(null=True)
    n = NumberAttribute(null=True)
    key = UnicodeAttribute(null=True)           # the index's S3 key
    seq = NumberAttribute(null=True)            # live changes so far (pointer)
    built_seq = NumberAttribute(null=True)      # the live change the stored index includes
    categories = UnicodeSetAttribute(null=True)
    expires_at = TTLAttribute(null=True)        # a gap (and its ticket marker): the retention schedule's end


class RatingModel(Model):
    """A reporter's satisfaction rating of the answer (1-5), stored once per ticket."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="RATING")
    rating = NumberAttribute()
    comment = UnicodeAttribute(null=True)
    channel = UnicodeAttribute()
    at = UTCDateTimeAttribute()


class StatsModel(Model):
    """Counters for statistics (one atomic ADD per rating)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, default="STATS")
    sk = UnicodeAttribute(range_key=True)
    n = NumberAttribute(default=0)
    total = NumberAttribute(default=0)


def _counter_attributes() -> dict[str, Any]:
    from chalicelib.domain.stats import FIELDS

    attrs: dict[str, Any] = {"Meta": type("Meta", (_Meta,), {}), "__doc__": STATS_COUNTER_DOC,
                             "pk": UnicodeAttribute(hash_key=True), "sk": UnicodeAttribute(range_key=True),
                             "actor": UnicodeAttribute(null=True), "handled": NumberAttribute(null=True)}
    attrs.update({name: NumberAttribute(null=True) for name in FIELDS})
    # DIRTY's per-day stale counters: d01..d31 count the writes into a day after it closed
    attrs.update({f"d{n:02d}": NumberAttribute(null=True) for n in range(1, 32)})
    return attrs


STATS_COUNTER_DOC = """A statistics counter (chalicelib.store.stats): pk=STATS#<yyyy-mm>, sk=D#<dd>#<combo> (a day),
M#<combo> (the month, older versions only), O#<dd>#<digest> (a staff member's day) or DIRTY (the month's
and its days' stale counters); numbers ADDed (chalicelib.domain.stats.FIELDS)."""
StatsCounterModel: Any = type("StatsCounterModel", (Model,), _counter_attributes())


def _call_counter_attributes() -> dict[str, Any]:
    from chalicelib.domain.call_stats import FIELDS

    attrs: dict[str, Any] = {"Meta": type("Meta", (_Meta,), {}), "__doc__": CALL_STATS_DOC,
                             "pk": UnicodeAttribute(hash_key=True), "sk": UnicodeAttribute(range_key=True)}
    attrs.update({name: NumberAttribute(null=True) for name in FIELDS})
    return attrs


CALL_STATS_DOC = """Call-centre counters (chalicelib.store.stats.add_call_figures): pk=STATS#<yyyy-mm>, sk=C#<dd>#<hh> of
the VN-local hour; numbers ADDed (chalicelib.domain.call_stats.FIELDS) in the call's or the task's transaction."""
CallStatsModel: Any = type("CallStatsModel", (Model,), _call_counter_attributes())


class IntegratorModel(Model):
    """An Open311 integrator and its API key's hash (the key itself is shown once, never stored)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, default="INTEGRATORS")
    sk = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    key_hash = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)


class ApiKeyModel(Model):
    """Lookup of an API key by its SHA-256: which integrator it belongs to."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="APIKEY")
    integrator = UnicodeAttribute()
    name = UnicodeAttribute()


class PersonMarkerModel(Model):
    """Where a person appears outside their own tickets' keys, so that an access or erasure request
    finds it with one Query (pk=PERSON#<digest of the phone or Zalo id>, never the value itself):
    sk=FOLLOW#<code> (follows a ticket), OUTBOX#<pk>|<sk> (a message sent with no ticket),
    VERIFY#<code> (a follow waiting for its one-time code). Written in the same transaction as
    what it points at; TTL'd when that is."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    ref = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    secret_hash = UnicodeAttribute(null=True)  # VERIFY#: the one-time code's hash
    attempts = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


class WorkMarkerModel(Model):
    """Staff work lists kept beside the tickets (no index of their own; chalicelib.store.worklists):
    pk=INBOX#UNREAD, sk=<code>: a citizen wrote since staff last acted (agency, category, channel
    copied for the scope filter; `first_at` the oldest unread message, `at` the newest);
    pk=MINE#<digest of a staff e-mail>, sk=<code>: the ticket is assigned to that person;
    pk=PRESENCE#<code>, sk=<digest of a staff e-mail>: who has the ticket open (`name`, `at`; TTL'd);
    pk=RATED_LOW#<yyyy-mm>, sk=<at>#<code>: the ticket was rated 1 or 2 that month (Vietnam time),
    written with the rating (chalicelib.store.ratings; the monthly report's notable cases)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    at = UTCDateTimeAttribute()
    first_at = UTCDateTimeAttribute(null=True)
    agency = UnicodeAttribute(null=True)
    category = UnicodeAttribute(null=True)
    channel = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class CallModel(Model):
    """A call (chalicelib.store.calls), pk=CALL#<call id>, sk=CALL: the route chosen when it was
    offered and every fact its events brought, each event's status ADDed to `statuses` by an update
    conditional on it not being there yet (a repeat changes nothing). Holds the caller's phone and
    recording links: TTL'd after Telephony.keep_days."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="CALL")
    call_id = UnicodeAttribute()
    direction = UnicodeAttribute(null=True)     # in | out
    caller = UnicodeAttribute(null=True)        # the citizen's phone, E.164 (in: who called; out: who was called)
    caller_raw = UnicodeAttribute(null=True)    # what the provider sent when it is not a phone (an app user)
    route = UnicodeAttribute(null=True)
    rings = JSONAttribute(null=True)            # [{kind, target, staff}] in ring order
    record = BooleanAttribute(null=True)
    tried = NumberAttribute(null=True)          # operators that failed (onFail posts seen)
    fails = UnicodeSetAttribute(null=True)      # the tries whose failure was seen ("1", "2", ...)
    last_fail = UnicodeAttribute(null=True)
    statuses = UnicodeSetAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    day_sk = UnicodeAttribute(null=True)        # its entry in CALLS#<day>
    ringing_at = UTCDateTimeAttribute(null=True)
    answered_at = UTCDateTimeAttribute(null=True)
    answered_target = UnicodeAttribute(null=True)
    agent_ended_at = UTCDateTimeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    duration_s = NumberAttribute(null=True)
    answer_duration_s = NumberAttribute(null=True)
    end_cause = UnicodeAttribute(null=True)
    ended_by = UnicodeAttribute(null=True)
    voicemail_url = UnicodeAttribute(null=True)
    voicemail_s = NumberAttribute(null=True)
    recording_url = UnicodeAttribute(null=True)
    staff = UnicodeAttribute(null=True)         # out: the operator who called back
    task = UnicodeAttribute(null=True)          # out: the call task it answers
    provider_call_id = UnicodeAttribute(null=True)  # out: Stringee's id of the callout (the item is keyed by ours)
    tickets = UnicodeSetAttribute(null=True)    # tickets it was attached to or opened
    finalised = UnicodeAttribute(null=True)     # the outcome once its follow-ups (task, log) were written
    expires_at = TTLAttribute(null=True)


class CallMarkerModel(Model):
    """Call listings beside the calls (chalicelib.store.calls), never a phone in a key:
    pk=CALLS#<yyyy-mm-dd>, sk=<offered at>#<call id>: the day's log (outcome, wait and talk time,
    who answered, once known; no phone); pk=LIVECALL, sk=<call id>: a call ringing or answered now,
    with its caller for the screen-pop (TTL'd within the hour)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    call_id = UnicodeAttribute(null=True)
    at = UTCDateTimeAttribute(null=True)
    direction = UnicodeAttribute(null=True)
    route = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)         # LIVECALL: ringing | answered
    caller = UnicodeAttribute(null=True)        # LIVECALL only
    ringing_to = UnicodeAttribute(null=True)
    answered_by = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    wait_s = NumberAttribute(null=True)
    talk_s = NumberAttribute(null=True)
    staff = UnicodeAttribute(null=True)         # out: who called
    expires_at = TTLAttribute(null=True)


class RosterModel(Model):
    """The duty roster (chalicelib.store.roster): one item, pk=ROSTER, sk=CURRENT, so the answer_url
    reads who is on duty and who is away with one GetItem. `entries` is saved whole over the version
    the supervisor started from; `away` maps a staff e-mail to when they went away, set or removed
    by one UpdateItem of its own key (never the whole item)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, default="ROSTER")
    sk = UnicodeAttribute(range_key=True, default="CURRENT")
    version = NumberAttribute(default=0)
    entries = JSONAttribute(null=True)
    away = MapAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)


class CountsModel(Model):
    """The inbox counts per view and agency scope (pk=INBOX#COUNTS, sk=COUNTS), rebuilt by at most
    one request at a time (`claimed_until`, epoch seconds) once they are older than a few seconds."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True, default="INBOX#COUNTS")
    sk = UnicodeAttribute(range_key=True, default="COUNTS")
    counts = JSONAttribute(null=True)
    computed_at = UTCDateTimeAttribute(null=True)
    claimed_until = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


class ReferenceModel(Model):
    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    version = NumberAttribute()
    document = JSONAttribute()
    updated_at = UTCDateTimeAttribute()


class ReferenceVersionModel(Model):
    """One saved version of the reference data (pk=REF, sk=V#<000123>): immutable, written with the
    current document in one transaction. The document is compressed (a 26 KB document takes ~5 KB),
    so the history list reads little."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    version = NumberAttribute()
    document = CompressedText()            # the JSON document
    actor = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    summary = UnicodeAttribute(null=True)  # what changed, one line (chalicelib.domain.reference_diff.summary)
    restored_from = NumberAttribute(null=True)


class LearningModel(Model):
    """Routing that learns (chalicelib/store/training.py, chalicelib/store/routing_model.py): a staff
    correction (pk TRAIN#CORR) and its per-ticket marker (pk TRAIN#OF#<code>); a trained model's history
    item (pk RMODEL, sk V#<version>) and the active pointer (pk RMODEL, sk ACTIVE)."""

    class Meta(_Meta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    code = UnicodeAttribute(null=True)          # the ticket a correction came from
    text = UnicodeAttribute(null=True)          # a correction's text: redacted and folded
    channel = UnicodeAttribute(null=True)
    said = JSONAttribute(null=True)             # what the router had decided: category, area, agency, source
    chose = JSONAttribute(null=True)            # what staff chose: category, area, agency
    role = UnicodeAttribute(null=True)          # the corrector's role, never their name
    at = UTCDateTimeAttribute(null=True)
    version = UnicodeAttribute(null=True)       # a model's version (history item, pointer)
    key = UnicodeAttribute(null=True)           # its artifact's S3 key
    trained_at = UnicodeAttribute(null=True)
    n_examples = NumberAttribute(null=True)
    n_corrections = NumberAttribute(null=True)
    inputs = UnicodeAttribute(null=True)        # digest of what it was trained on (a re-run finds it)
    figures = JSONAttribute(null=True)          # {"slice": {"new", "old"}, "holdout": {"new", "old"}}
    promoted = BooleanAttribute(null=True)
    reasons = ListAttribute(of=UnicodeAttribute, null=True)
    actor = UnicodeAttribute(null=True)         # who ran it / rolled back to it (staff:<e-mail> or system)
    rolled_back_by = UnicodeAttribute(null=True)
    rolled_back_at = UTCDateTimeAttribute(null=True)
    seq = NumberAttribute(null=True)            # pointer: changes so far (a rollback is conditional on it)
    expires_at = TTLAttribute(null=True)

MODELS: tuple[type[Model], ...] = (TicketModel, TicketBodyModel, EventModel, ReferenceModel, ReferenceVersionModel,
                                   DedupModel, OutboundModel,
                                   QuarantineModel, RateModel, LeaseModel, CallbackModel,
                                   ContactHealthModel, ResponseTemplateModel, RatingModel, StatsModel,
                                   IntegratorModel, ApiKeyModel, CursorModel, PersonMarkerModel, SearchRequestModel, StatusLinkModel, WorkMarkerModel,
                                   CountsModel, StatsCounterModel, ExportJobModel, RosterModel,
                                   CallModel, CallMarkerModel, CallStatsModel,
                                   KbArticleModel, KbMarkerModel, MessengerSentModel, LearningModel)
