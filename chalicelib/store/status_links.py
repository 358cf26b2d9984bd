"""Personal status links in the table: the lookup item by the token's digest and its entry in the
ticket's partition (chalicelib.store.models.StatusLinkModel), always written and deleted together."""
from __future__ import annotations

from datetime import datetime

from pynamodb.transactions import TransactWrite

from chalicelib.domain.status_links import digest
from chalicelib.store import people
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import StatusLinkModel, ticket_pk

LOOKUP_SK = "STATUS"
ENTRY_PREFIX = "STATUS#"


def items(token: str, code: str, who: str, now: datetime, recipient: str | None = None) -> list[StatusLinkModel]:
    """The two items of a new link to ticket `code` for the reporter or a follower (`recipient`: the
    follower's phone or Zalo id, kept only as its person digest), to save in the caller's transaction."""
    found = digest(token)
    person = people.person_digest(recipient) if recipient else None
    return [StatusLinkModel(pk=f"STATUS#{found}", sk=LOOKUP_SK, tracking_code=code, who=who, person=person,
                            created_at=now),
            StatusLinkModel(pk=ticket_pk(code), sk=f"{ENTRY_PREFIX}{found}", tracking_code=code, who=who,
                            person=person, created_at=now)]


def save(transaction: TransactWrite, links: list[StatusLinkModel]) -> None:
    """Saves a link's items in `transaction` (a token drawn twice would fail it: never in practice)."""
    for item in links:
        transaction.save(item, condition=StatusLinkModel.pk.does_not_exist())


def issue(token: str, code: str, who: str, now: datetime, recipient: str | None = None) -> None:
    """Stores a link on its own (for a ticket or a follow that exists already)."""
    connection = bind()
    with translate():
        with TransactWrite(connection=connection) as transaction:
            save(transaction, items(token, code, who, now, recipient))


def find(token: str) -> StatusLinkModel | None:
    """The lookup item of `token` (one GetItem), or None."""
    bind()
    with translate():
        try:
            return StatusLinkModel.get(f"STATUS#{digest(token)}", LOOKUP_SK)
        except StatusLinkModel.DoesNotExist:
            return None


def of_ticket(code: str) -> list[StatusLinkModel]:
    """The ticket's link entries (one Query of its partition)."""
    bind()
    with translate():
        return list(StatusLinkModel.query(ticket_pk(code), StatusLinkModel.sk.startswith(ENTRY_PREFIX),
                                          consistent_read=True))


def delete(entry: StatusLinkModel) -> None:
    """Deletes a link (its lookup item and `entry`, its entry in the ticket's partition) at once;
    deleting one already gone is no error."""
    connection = bind()
    lookup = StatusLinkModel(pk=f"STATUS#{entry.sk[len(ENTRY_PREFIX):]}", sk=LOOKUP_SK)
    with translate():
        with TransactWrite(connection=connection) as transaction:
            transaction.delete(lookup)
            transaction.delete(entry)
