"""
Help searches and the help index, kept instead of rebuilt at every `help`.

Evennia's `help <topic>` builds a full-text (lunr) index of every topic the
caller may read, twice per query (the word, then the word as a prefix), and
`help` alone lays out the index of topics with ANSIString, both on the
reactor: 13 and 29 ms with 100 players online (README, Latency, finding
30). Both results depend only on their inputs: the index on the topics'
search documents (key, aliases, category, text, ...), the layout on the
topics listed, the client's width and the command class. So each is kept
under a key made of exactly those inputs, and a topic that is added,
removed or edited, or a caller who may read other topics, makes another
key: nothing is answered from a stale index. Each cache is bounded and drops
what was used least recently.
"""

from collections import OrderedDict

from evennia.help.utils import LunrSearch

# An index of the game's ~150 topics takes about 3 MB with its full-text twin (measured with
# tracemalloc); one pair per set of readable topics (roughly, per permission level) in use.
INDEX_LIMIT = 8
LAYOUT_LIMIT = 64


class BoundedMemo:
    """A dict of the last `limit` results used, by key."""

    def __init__(self, limit):
        self.limit = limit
        self._kept = OrderedDict()

    def get(self, key, make):
        """The result kept for `key`, or `make()`'s, kept."""
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        result = self._kept[key] = make()
        while len(self._kept) > self.limit:
            self._kept.popitem(last=False)
        return result

    def clear(self):
        self._kept.clear()

    def __len__(self):
        return len(self._kept)


INDEXES = BoundedMemo(INDEX_LIMIT)
LAYOUTS = BoundedMemo(LAYOUT_LIMIT)


def frozen(value):
    """A hashable copy of a search document's value (lists and dicts become tuples)."""
    if isinstance(value, dict):
        return tuple(sorted((key, frozen(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple, set)):
        return tuple(frozen(item) for item in value)
    return value


def lunr_index(fields, documents):
    """Evennia's lunr index of `documents` on `fields`, built once per distinct fields and documents.

    The documents are taken in one order, sorted by name: Evennia's help
    hands over its categories in the order of a set of objects hashed by
    their id, so the same topics come in a new order at every `help`. The
    order only decides which of two equally good matches is listed first,
    and that was already down to the set's order.
    """
    ordered = sorted(documents, key=sort_key)
    key = (frozen(fields), tuple(frozen(document) for document in ordered))
    return INDEXES.get(key, lambda: LunrSearch().index(ref="key", fields=fields, documents=ordered))


def sort_key(document):
    """Where a document goes in the index's order (text fields only, so any two compare)."""
    return tuple(str(document.get(field, "")) for field in ("key", "category", "aliases", "no_prefix"))


def help_search(query, candidate_entries, suggestion_maxnum=5, fields=None):
    """Evennia's `help_search_with_index` (same arguments and answer, ties apart: see `lunr_index`), kept index.

    Returns:
        tuple: ([matching entries], [their keys]), at most `suggestion_maxnum` of each.
    """
    from lunr.exceptions import QueryParseError

    documents = [entry.search_index_entry for entry in candidate_entries]
    by_key = {document["key"]: entry for document, entry in zip(documents, candidate_entries)}
    fields = fields or [
        {"field_name": "key", "boost": 10},
        {"field_name": "aliases", "boost": 7},
        {"field_name": "category", "boost": 6},
        {"field_name": "tags", "boost": 5},
    ]
    try:
        matches = lunr_index(fields, documents).search(query)[:suggestion_maxnum]
    except QueryParseError:  # the player's query is not one lunr can read
        matches = []
    return [by_key[match["ref"]] for match in matches], [str(match["ref"]) for match in matches]
