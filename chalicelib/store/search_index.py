"""The search index's storage: one SQLite FTS5 file per calendar month (UTC, as the ticket's
created_month) in the attachments bucket under search/<yyyy-mm>.sqlite.gz, a copy of each in
this container's /tmp kept by ETag, the reindex requests, and the by-month ticket reads the indexer
and the search make (the tickets themselves: chalicelib.store.tickets.whole). Only chalicelib.services.search writes the files (docs/architecture.md, Search).

A file holds, per ticket: `doc` (code, order key = row id, updated_at, agency, category, area:
what a search filters on before it reads the tickets themselves) and `fts` (the folded words of
what the citizen wrote, of the reporter's name, of the address and commune). It is replaced
whole, conditionally on the ETag it was read at (S3 If-Match), so two writers never lose each
other's rows: the second one's PUT fails and it starts again from the new file.
"""
from __future__ import annotations

import atexit
import gzip
import os
import shutil
import sqlite3
import tempfile
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Iterator

from chalicelib import aws
from chalicelib.domain.errors import Conflict, SearchIndexRefused
from chalicelib.store.connection import bind
from chalicelib.store.errors import translate
from chalicelib.store.models import SearchRequestModel, TicketModel

PREFIX = "search/"
REQUEST_PK = "SEARCH#REINDEX"
REQUEST_DAYS = 30
_SCHEMA = """
CREATE TABLE IF NOT EXISTS doc(id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, updated TEXT NOT NULL,
                               agency TEXT, category TEXT, area TEXT);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(body, name, place);
"""
GZIP_LEVEL = 3  # a month's 6 MB file: ~60 ms to pack on each write, 15 % larger than level 6 (~250 ms)
_MISSING = {"NoSuchKey", "404"}  # the roles may list search/ (infra/iam.py), so a missing file is 404, not 403
_REFUSED = {"AccessDenied", "403"}
_CHANGED = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


def bucket() -> str:
    return os.environ["ATTACHMENTS_BUCKET"]


def key(month: str) -> str:
    return f"{PREFIX}{month}.sqlite.gz"


# One month's file


@dataclass(frozen=True)
class Doc:
    """What the index keeps of one ticket (the columns hold indexed text: chalicelib.domain.search)."""

    code: str
    order: int          # microseconds since 1970 of created_at: the row id, newest first
    updated: str        # the ticket's updated_at when indexed (a later one means: read it again)
    agency: str | None
    category: str | None
    area: str | None
    body: str
    name: str
    place: str


@dataclass(frozen=True)
class Hit:
    order: int
    code: str
    agency: str | None
    category: str | None


class Shard:
    """One month's index file, open on a local path (SQLite; FTS5)."""

    def __init__(self, path: Path, writable: bool = True) -> None:
        self.path = path
        if writable:
            self._db = sqlite3.connect(str(path), isolation_level=None)
            self._db.executescript(_SCHEMA)
        else:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Shard":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def versions(self) -> dict[str, tuple[str, str | None, str | None]]:
        """code -> (updated, agency, category) of every ticket in the file."""
        return {code: (updated, agency, category) for code, updated, agency, category in
                self._db.execute("SELECT code, updated, agency, category FROM doc")}

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM doc").fetchone()[0])

    def put(self, docs: Iterable[Doc]) -> int:
        """Adds or replaces these tickets' rows (a ticket keeps its row id); returns how many."""
        count = 0
        with self._transaction():
            for doc in docs:
                row = self._db.execute("SELECT id FROM doc WHERE code = ?", (doc.code,)).fetchone()
                if row is not None:
                    rowid = row[0]
                    self._db.execute("DELETE FROM fts WHERE rowid = ?", (rowid,))
                    self._db.execute("UPDATE doc SET updated = ?, agency = ?, category = ?, area = ? WHERE id = ?",
                                     (doc.updated, doc.agency, doc.category, doc.area, rowid))
                else:
                    rowid = doc.order
                    while self._db.execute("SELECT 1 FROM doc WHERE id = ?", (rowid,)).fetchone():
                        rowid += 1  # two tickets of the same microsecond: one sorts a microsecond later
                    self._db.execute("INSERT INTO doc(id, code, updated, agency, category, area) VALUES (?,?,?,?,?,?)",
                                     (rowid, doc.code, doc.updated, doc.agency, doc.category, doc.area))
                self._db.execute("INSERT INTO fts(rowid, body, name, place) VALUES (?,?,?,?)",
                                 (rowid, doc.body, doc.name, doc.place))
                count += 1
        return count

    def drop(self, codes: Iterable[str]) -> int:
        """Removes these tickets' rows; returns how many were there."""
        count = 0
        with self._transaction():
            for code in codes:
                row = self._db.execute("SELECT id FROM doc WHERE code = ?", (code,)).fetchone()
                if row is not None:
                    self._db.execute("DELETE FROM fts WHERE rowid = ?", (row[0],))
                    self._db.execute("DELETE FROM doc WHERE id = ?", (row[0],))
                    count += 1
        return count

    def find(self, expression: str, before: int | None, limit: int, agency: str | None = None,
             without_categories: tuple[str, ...] = ()) -> list[Hit]:
        """Up to `limit` rows matching the FTS5 `expression`, newest first, older than `before`
        (an order key), of `agency` only when given, of none of `without_categories`."""
        sql = ["SELECT doc.id, doc.code, doc.agency, doc.category FROM fts JOIN doc ON doc.id = fts.rowid",
               "WHERE fts MATCH ?"]
        values: list[Any] = [expression]
        if before is not None:
            sql.append("AND fts.rowid < ?")
            values.append(before)
        if agency is not None:
            sql.append("AND doc.agency = ?")
            values.append(agency)
        if without_categories:
            sql.append(f"AND coalesce(doc.category, '') NOT IN ({', '.join('?' * len(without_categories))})")
            values.extend(without_categories)
        sql.append("ORDER BY fts.rowid DESC LIMIT ?")
        values.append(limit)
        return [Hit(*row) for row in self._db.execute(" ".join(sql), values)]

    def compact(self) -> None:
        """Merges the full-text index into one segment and drops free pages (smaller downloads)."""
        self._db.execute("INSERT INTO fts(fts) VALUES ('optimize')")
        self._db.execute("VACUUM")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


# The files in S3 and their copies in /tmp


# This process's copies (a Lambda container has one; on one machine the local stack and the tests
# each have theirs: a copy another process wrote, from another bucket, is never taken for ours)
CACHE_DIR = Path(tempfile.gettempdir()) / "hotline1022-search" / str(os.getpid())
_cache_etags: dict[str, str] = {}  # month -> ETag of CACHE_DIR/<month>.sqlite (this container's copy)
atexit.register(shutil.rmtree, CACHE_DIR, ignore_errors=True)
_LOCK = threading.Lock()


def _client() -> Any:
    return aws.client("s3")


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def cached(month: str, etag: str | None = None) -> Path | None:
    """This container's copy of the month's file, fetched first unless the copy is at `etag`
    (then no S3 call); a copy at another ETag is revalidated (If-None-Match: 304 keeps it).
    Returns None when the month has no file; raises SearchIndexRefused when S3 refuses to read it."""
    from botocore.exceptions import ClientError

    path = CACHE_DIR / f"{month}.sqlite"
    with _LOCK:
        have = _cache_etags.get(month) if path.exists() else None
        if have is not None and have == etag:
            return path
        options = {"IfNoneMatch": have} if have else {}
        try:
            answer = _client().get_object(Bucket=bucket(), Key=key(month), **options)
        except ClientError as exc:
            if _code(exc) in ("304", "NotModified"):
                return path
            if _code(exc) in _MISSING:
                _cache_etags.pop(month, None)
                return None
            if _code(exc) in _REFUSED:
                raise SearchIndexRefused(month) from exc
            raise
        data = gzip.decompress(answer["Body"].read())
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        scratch = CACHE_DIR / f".{month}.{uuid.uuid4().hex}"
        scratch.write_bytes(data)
        os.replace(scratch, path)  # a reader that opened the old copy keeps reading it
        _cache_etags[month] = answer["ETag"]
        return path


def open_copy(month: str, empty: bool = False, known: str | None = None) -> tuple[Shard, str | None]:
    """A private, writable copy of the month's current file (an empty file when there is none, or
    when `empty`: to replace it whole) and the ETag it was read at (None: no file yet). With
    `known`, the ETag the writer last published, a copy at that ETag is used without asking S3: if
    someone replaced the file since, the conditional PUT says so."""
    source = cached(month, known)
    etag = _cache_etags.get(month) if source is not None else None
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    target = CACHE_DIR / f".work-{month}-{uuid.uuid4().hex}.sqlite"
    if source is not None and not empty:
        shutil.copyfile(source, target)
    return Shard(target), etag


def publish(shard: Shard, month: str, etag: str | None) -> str:
    """Uploads `shard` as the month's file if the file is still at `etag` (None: if there is none
    yet), makes it this container's copy and returns its new ETag; raises Conflict when someone
    else replaced it first (nothing written). Closes the shard."""
    from botocore.exceptions import ClientError

    shard.close()
    data = gzip.compress(shard.path.read_bytes(), GZIP_LEVEL)
    condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
    try:
        answer = _client().put_object(Bucket=bucket(), Key=key(month), Body=data, ContentType="application/gzip",
                                      **condition)
    except ClientError as exc:
        shard.path.unlink(missing_ok=True)
        if _code(exc) in _CHANGED:
            raise Conflict() from exc
        raise
    with _LOCK:
        os.replace(shard.path, CACHE_DIR / f"{month}.sqlite")
        _cache_etags[month] = answer["ETag"]
    return str(answer["ETag"])


def discard(shard: Shard) -> None:
    shard.close()
    shard.path.unlink(missing_ok=True)


def remove(month: str) -> None:
    """Deletes a month's file (it left the window): the bucket's lifecycle expires its old versions."""
    _client().delete_object(Bucket=bucket(), Key=key(month))
    with _LOCK:
        _cache_etags.pop(month, None)
        (CACHE_DIR / f"{month}.sqlite").unlink(missing_ok=True)


def reader(path: Path) -> Shard:
    """A month's file opened for a search (the copy in /tmp)."""
    return Shard(path, writable=False)


# Tickets, as the indexer and the search read them


def created(month: str, after: datetime | None, until: datetime, limit: int, newest_first: bool = False
            ) -> list[TicketModel]:
    """Up to `limit` tickets of the month created after `after` (None: from its start) and no later
    than `until`, oldest first (or newest first), as the by_month index projects them."""
    bind()
    condition = TicketModel.created_at.between(after + timedelta(microseconds=1), until) if after is not None \
        else TicketModel.created_at <= until
    with translate():
        return list(TicketModel.by_month.query(month, condition, scan_index_forward=not newest_first, limit=limit,
                                               page_size=min(limit, 500)))


def of_month(month: str) -> Iterator[TicketModel]:
    """Every ticket of the month as by_month projects it (code, updated_at, agency, category),
    paged through: the indexer's re-read of a month."""
    bind()
    with translate():
        yield from TicketModel.by_month.query(month, page_size=1000)


def request(code: str, month: str, now: datetime) -> None:
    """Asks the indexer to read this ticket again (its personal data was just removed)."""
    bind()
    with translate():
        SearchRequestModel(pk=REQUEST_PK, sk=f"{month}#{code}", at=now,
                           expires_at=now + timedelta(days=REQUEST_DAYS)).save()


def requests(limit: int) -> list[tuple[str, str]]:
    """Up to `limit` waiting reindex requests, as (month, code)."""
    bind()
    with translate():
        found = SearchRequestModel.query(REQUEST_PK, limit=limit, consistent_read=True)
        return [tuple(item.sk.split("#", 1)) for item in found]  # type: ignore[misc]


def done(month: str, code: str) -> None:
    bind()
    with translate():
        SearchRequestModel(pk=REQUEST_PK, sk=f"{month}#{code}").delete()
