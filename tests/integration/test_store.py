"""The store against the emulator: each access pattern, atomic create, optimistic locking."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.errors import AlreadyExists, Conflict
from chalicelib.domain.lifecycle import Status
from chalicelib.domain.tracking import new_code
from chalicelib.store import tickets
from tests.conftest import unique_phone

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)


def _fields(phone: str, **extra: object) -> dict[str, object]:
    base = {"tracking_code": new_code("TN"), "channel": "web", "reporter_phone": phone, "text": "Đường ngập",
            "status": Status.RECEIVED.value, "created_at": NOW, "updated_at": NOW}
    base.update(extra)
    return base


def _event(kind: str = "created", minutes: int = 0) -> tickets.NewEvent:
    return tickets.NewEvent(kind=kind, actor="citizen:web", at=NOW + timedelta(minutes=minutes),
                            public_text="Đã tiếp nhận phản ánh.")


def test_a_ticket_and_its_first_event_are_written_together(stack: object) -> None:
    fields = _fields(unique_phone())
    tickets.create_ticket(fields, _event())
    stored = tickets.get_ticket(fields["tracking_code"])
    assert stored.text == "Đường ngập" and stored.version == 1
    assert [e.kind for e in tickets.timeline(fields["tracking_code"])] == ["created"]


def test_a_taken_tracking_code_writes_nothing(stack: object) -> None:
    fields = _fields(unique_phone())
    tickets.create_ticket(fields, _event())
    with pytest.raises(AlreadyExists):
        tickets.create_ticket({**fields, "text": "khác"}, _event("second"))
    assert tickets.get_ticket(fields["tracking_code"]).text == "Đường ngập"
    assert [e.kind for e in tickets.timeline(fields["tracking_code"])] == ["created"]


def test_reporter_history_by_phone_and_zalo_newest_first(stack: object) -> None:
    phone, zalo = unique_phone(), f"zalo-{unique_phone()}"
    codes = []
    for days in (0, 1, 2):
        fields = _fields(phone, reporter_zalo_id=zalo, created_at=NOW + timedelta(days=days))
        tickets.create_ticket(fields, _event())
        codes.append(fields["tracking_code"])
    assert [t.tracking_code for t in tickets.by_phone(phone)] == codes[::-1]
    assert [t.tracking_code for t in tickets.by_zalo(zalo)] == codes[::-1]


def test_open_tickets_of_an_agency_come_earliest_deadline_first_and_leave_when_closed(stack: object) -> None:
    agency = f"agency-{unique_phone()}"
    made = []
    for days in (5, 1, 3):
        fields = _fields(unique_phone(), due_at=NOW + timedelta(days=days))
        tickets.create_ticket(fields, _event())
        ticket = tickets.get_ticket(fields["tracking_code"])
        tickets.transition(ticket, Status.ASSIGNED, _event("routed"), NOW, agency=agency)
        made.append((days, fields["tracking_code"]))
    page, _ = tickets.open_by_agency(agency)
    assert [t.tracking_code for t in page] == [code for _, code in sorted(made)]

    earliest = tickets.get_ticket(sorted(made)[0][1])
    tickets.transition(earliest, Status.ANSWERED, _event("answered"), NOW)
    page, _ = tickets.open_by_agency(agency)
    assert earliest.tracking_code not in [t.tracking_code for t in page] and len(page) == 2


def test_status_index_pages_by_due_time(stack: object) -> None:
    # Given tickets waiting for a callback with deadlines spread over a week
    codes = []
    for days in range(5):
        fields = _fields(unique_phone(), status=Status.AWAITING_CALLBACK.value, due_at=NOW + timedelta(days=days))
        tickets.create_ticket(fields, _event())
        codes.append(fields["tracking_code"])
    # When a scheduler walks the index two at a time, only up to a cut-off
    cutoff = (NOW + timedelta(days=3)).isoformat()
    seen, start = [], None
    while True:
        page, start = tickets.by_status(Status.AWAITING_CALLBACK, due_before=cutoff, limit=2, start=start)
        seen += [t.tracking_code for t in page if t.tracking_code in codes]
        if start is None:
            break
    # Then it sees exactly the three due before the cut-off, earliest first
    assert seen == codes[:3]


def test_a_stale_copy_cannot_overwrite_a_newer_change(stack: object) -> None:
    fields = _fields(unique_phone())
    tickets.create_ticket(fields, _event())
    first = tickets.get_ticket(fields["tracking_code"])
    second = tickets.get_ticket(fields["tracking_code"])
    tickets.transition(first, Status.TRIAGE, _event("triaged", minutes=1), NOW)
    with pytest.raises(Conflict):
        tickets.transition(second, Status.ASSIGNED, _event("assigned", minutes=2), NOW, agency="so-y-te")
    kept = tickets.get_ticket(fields["tracking_code"])
    assert kept.status == "triage" and kept.agency is None and kept.version == 2
    assert [e.kind for e in tickets.timeline(fields["tracking_code"])] == ["created", "triaged"]


def test_what_a_ticket_says_reads_back_whole_after_it_changes_and_from_every_listing(stack: object) -> None:
    from chalicelib.store.connection import bind
    from chalicelib.store.models import TICKET_SK, TicketModel, ticket_pk

    phone, agency = unique_phone(), f"agency-{unique_phone()}"
    said = {"text": "Cống thoát nước trước chợ bị tắc, nước tràn lên đường " * 6, "reporter_name": "Nguyễn Văn An",
            "reporter_email": "an@example.vn", "address": "12 Cách Mạng Tháng Tám",
            "attachments": [{"key": "photos/a.jpg", "filename": "a.jpg", "content_type": "image/jpeg"}]}
    fields = _fields(phone, channel="phone", due_at=NOW + timedelta(days=300), **said)  # last in any inbox
    tickets.create_ticket(fields, _event())
    code = fields["tracking_code"]
    tickets.transition(tickets.get_ticket(code), Status.ASSIGNED, _event("routed", minutes=1), NOW, agency=agency)

    def whole(ticket: TicketModel) -> dict[str, object]:
        values = {name: getattr(ticket, name) for name in said}
        values["attachments"] = [a.attribute_values for a in ticket.attachments or []]
        return values

    assert whole(tickets.get_ticket(code)) == said
    assert [whole(t) for t in tickets.by_phone(phone)] == [said]
    page, _ = tickets.open_by_agency(agency)
    assert [whole(t) for t in page] == [said]
    # the item every change rewrites holds none of it (its own item is written once)
    bind()
    rewritten = TicketModel.get(ticket_pk(code), TICKET_SK, consistent_read=True)
    assert rewritten.text is None and rewritten.reporter_name is None and rewritten.version == 2


def test_an_email_keeps_its_html_part_exactly_and_stores_it_compressed(stack: object) -> None:
    from chalicelib.store import outbound

    fields = _fields(unique_phone())
    tickets.create_ticket(fields, _event())
    html = "<html><body><h1>Phản ánh mới</h1>" + "<tr><td>Địa bàn</td><td>Phường Tân Ninh</td></tr>" * 20 + "</body></html>"
    email = outbound.new_outbound("assigned", "email", "ses", "so-xd@example.vn", "Phản ánh mới", NOW, automated=False)
    email.subject, email.html = "Phản ánh mới", html
    stored = outbound.add_outbound(email, fields["tracking_code"])
    again = outbound.get_outbound(stored.pk, stored.sk)
    assert again is not None and again.html == html
    assert len(again.serialize()["html"]["B"]) < len(html.encode()) / 2
