"""The values of the fields that carry JSON inside a string: read-only dicts and lists.

The API sends histograms and best-selling categories as JSON text inside a string
(docs: influencer-list-analytics.md, `type: string`). Records hold them parsed, as read-only
subclasses of dict and list: they compare, print, pickle and encode (msgspec, json) as the plain
dict or list, and any attempt to change one raises TypeError, so a frozen record stays frozen.

Parsing never raises: JSON that is malformed or of the wrong shape reads as empty, and inside a
histogram one bad bucket (null, text, a list) is dropped alone; a fractional count rounds.
"""

from __future__ import annotations

import math
from typing import Any, NoReturn, TypeVar

import msgspec

__all__ = ["Categories", "Category", "Histogram", "categories", "histogram"]


def _read_only(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(f"{type(self).__name__} is read-only: it belongs to a frozen record")


V = TypeVar("V")


def _frozen(value: Any) -> Any:
    """A nested value made read-only all the way down (a category may carry objects)."""
    if isinstance(value, dict):
        return _FrozenDict({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _category(entry: dict[str, Any]) -> Category:
    # The documented entries hold only text and numbers; anything nested is frozen too.
    if any(isinstance(v, (dict, list)) for v in entry.values()):
        entry = {k: _frozen(v) for k, v in entry.items()}
    return Category(entry)


class _FrozenDict(dict[str, V]):
    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __hash__(self) -> int:  # type: ignore[override]  # frozen, so hashable
        return hash(frozenset(self.items()))

    def __reduce__(self) -> tuple[Any, ...]:  # pickle and copy rebuild it in one call
        return (type(self), (dict(self),))

    def __copy__(self) -> _FrozenDict[V]:
        return self

    def __deepcopy__(self, memo: object) -> _FrozenDict[V]:
        return self  # read-only: a copy may be the very object, as for a tuple


class Histogram(_FrozenDict[int]):
    """Counts per bucket, e.g. {"15s": 13, "15s-30s": 8}, in the order the API sent them."""

    __slots__ = ()


class Category(_FrozenDict[Any]):
    """One best-selling category, e.g. {"category_id": "824328", "category_name": "Food", ...}."""

    __slots__ = ()


class Categories(list[Category]):
    """The best-selling product categories, best first."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only
    append = clear = extend = insert = pop = remove = reverse = sort = _read_only

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (list(self),))

    def __copy__(self) -> Categories:
        return self

    def __deepcopy__(self, memo: object) -> Categories:
        return self


EMPTY_HISTOGRAM = Histogram()
EMPTY_CATEGORIES = Categories()
_NO_BUCKETS = frozenset({"", "{}"})
_NO_ENTRIES = frozenset({"", "[]"})
_ints = msgspec.json.Decoder(dict[str, int])
_counts = msgspec.json.Decoder(dict[str, int], strict=False)
_objects = msgspec.json.Decoder(list[dict[str, Any]])
_anything = msgspec.json.Decoder()


def _parsed(value: object) -> object:
    if isinstance(value, str):
        try:
            return _anything.decode(value)
        except (msgspec.DecodeError, UnicodeError, RecursionError):  # malformed, too deep
            return None
    return value  # the API may one day send the object itself


def _count(value: object) -> int | None:
    """A bucket's count, or None for a bad bucket."""
    if type(value) is int:
        return value
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, float) and math.isfinite(value):
        return round(value)
    return None


def histogram(value: object) -> Histogram:
    """A histogram from JSON text or a dict; never raises."""
    if type(value) is Histogram:
        return value
    if isinstance(value, str):
        if value in _NO_BUCKETS:  # an inactive account's, as the docs show: shared, not parsed
            return EMPTY_HISTOGRAM
        try:
            return Histogram(_ints.decode(value))  # what the API sends: ~15% faster than lax
        except msgspec.ValidationError:
            pass
        except (msgspec.DecodeError, UnicodeError, RecursionError):
            return EMPTY_HISTOGRAM
        try:
            return Histogram(_counts.decode(value))  # counts sent as "4" or 4.0
        except msgspec.ValidationError:  # a bad bucket or another shape: sorted out below
            pass
        except (msgspec.DecodeError, UnicodeError, RecursionError):
            return EMPTY_HISTOGRAM
    parsed = _parsed(value)
    if not isinstance(parsed, dict) or not parsed:
        return EMPTY_HISTOGRAM
    out = {}
    for key, raw in parsed.items():
        count = _count(raw)
        if count is not None and isinstance(key, str):
            out[key] = count
    return Histogram(out)


def categories(value: object) -> Categories:
    """Categories from JSON text or a list; an entry that is not an object is dropped."""
    if type(value) is Categories:
        return value
    if isinstance(value, str):
        try:
            if value in _NO_ENTRIES:  # docs: `"most_category_product": "[]"`
                return EMPTY_CATEGORIES
            return Categories(map(_category, _objects.decode(value)))
        except msgspec.ValidationError:  # an entry that is not an object: sorted out below
            pass
        except (msgspec.DecodeError, UnicodeError, RecursionError):
            return EMPTY_CATEGORIES
    parsed = _parsed(value)
    if not isinstance(parsed, list) or not parsed:
        return EMPTY_CATEGORIES
    return Categories(
        [
            _category(entry)
            for entry in parsed
            if isinstance(entry, dict) and all(isinstance(k, str) for k in entry)
        ]
    )
