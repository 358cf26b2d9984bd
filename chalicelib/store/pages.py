"""Reading an index a bounded number of DynamoDB pages at a time.

PynamoDB keeps requesting pages until `limit` items pass a filter, so a filter that matches
nothing reads the whole partition, one Query per page, inside one HTTP request. Anonymous
listings read at most a fixed number of pages instead and hand back the key to resume from.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

from chalicelib.store.errors import translate


class Page(NamedTuple):
    items: list[Any]
    next_key: dict[str, Any] | None  # where to read on; None: the query is done
    queries: int                     # Query calls made


def _key_names(index: Any) -> list[str]:
    """The attributes of a start key on `index`: its own keys and the table's (no DescribeTable)."""
    model = index._model
    own = [a.attr_name for a in index.Meta.attributes.values() if a.is_hash_key or a.is_range_key]
    return own + [name for name in (model._hash_keyname, model._range_keyname) if name]


def read(index: Any, query: Any, limit: int, max_queries: int,
         keep: Callable[[Any], bool] | None = None) -> Page:
    """Returns up to `limit` items of `query` (a PynamoDB query on `index`) that `keep` accepts,
    from at most `max_queries` Query calls, and the key to resume from: the last item read when
    `limit` is reached mid-page, else DynamoDB's own. The key may come with no items (the pages
    held no match): the caller offers "more" and the reader decides."""
    pages = query.page_iter
    model = index._model
    items: list[Any] = []
    queries = 0
    with translate():
        while queries < max_queries:
            page = next(pages)
            queries += 1
            raw = page.get("Items", [])
            for position, data in enumerate(raw):
                item = model.from_raw_data(data)
                if keep is None or keep(item):
                    items.append(item)
                if len(items) >= limit:
                    more = position + 1 < len(raw) or pages.last_evaluated_key is not None
                    return Page(items, {name: data[name] for name in _key_names(index)} if more else None, queries)
            if pages.last_evaluated_key is None:
                return Page(items, None, queries)
    return Page(items, pages.last_evaluated_key, queries)


def full(model: Any, found: list[Any]) -> list[Any]:
    """The whole items behind index entries that project only keys and a few small attributes
    (the indexes keep out what is rewritten often, so a ticket's changes cost fewer index writes):
    one BatchGetItem per 100 keys, eventually consistent like the index itself, in the index's
    order; an item deleted meanwhile is left out."""
    if not found:
        return []
    keys = [(item.pk, item.sk) for item in found]
    with translate():
        loaded = {(item.pk, item.sk): item for item in model.batch_get(list(dict.fromkeys(keys)))}
    return [loaded[key] for key in keys if key in loaded]
