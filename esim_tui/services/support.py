"""The support desk's headless core: find any order sold, and tell its whole life in the counter's words.

Used by the Orders screens and by ``esim-tui orders find`` / ``orders show``; no Textual here.

Finding is built for a shop with 100,000 orders answering a keystroke within a frame:

- ``OrderFinder`` keeps, per order, one small summary row (a tuple, never the Order) and one lowercase
  search text, both computed once when the order is loaded or updated; a keystroke never parses an
  Order and never touches the store.
- ``OrderFinder.load`` reads the rows and texts from the store's per-segment summaries
  (``OrderStore.summaries``, columns made by ``DeskSummary``), not from the orders: 100,000 archived
  orders are listed without parsing one. A summary older than its segment, damaged or missing is
  rebuilt from the segment's orders; the desk opens an order by reading it in full from the store.
- Matching is substring matching of every word (AND) against the search text, run by C loops
  (``map``/``compress``) over the candidates' texts.
- The candidates are the previous answers: when the new query extends a recent one (each earlier word
  lies inside a new word: "ana" -> "ana s", "879" -> "8796"), only that answer's rows are searched.
  A few recent answers are kept, so Backspace is answered from memory too.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import operator
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache, partial
from itertools import compress, repeat
from pathlib import Path
from typing import Any, NamedTuple

from esim_tui.domain import formats
from esim_tui.domain.codes import iccid_tail
from esim_tui.domain.money import Money, format_money
from esim_tui.domain.orders import (
    ActivationStatus,
    BundleState,
    BundleUsage,
    InstallState,
    Order,
    OrderKind,
    OrderStatus,
)
from esim_tui.domain.plans import ProviderName, format_bytes
from esim_tui.domain.text import clean
from esim_tui.services.wording import activation_words, customer, data_left, order_state, past_validity, plan_summary, top_up_mark

# ---------------------------------------------------------------- filters


class OrderFilter(StrEnum):
    """The status filters of the Orders screen and of ``esim-tui orders find --status``.

    Every order is in ``all`` and in exactly one stage of its life; the first rule that fits decides:

    1. ``failed``: the order FAILED or was CANCELLED;
    2. ``pending``: PENDING, or UNKNOWN (sent, no definite answer yet);
    2a. ``refunded``: its bundle was refunded;
    3. ``expired``: the eSIM's activation status is EXPIRED, or (given the time) it is past its validity;
    4. ``active``: a bundle is active;
    5. ``out_of_data``: a bundle is out of data (and none is active);
    6. ``expired``: its bundles ended (expired or lapsed) and none is queued or being prepared;
    7. ``active``: the activation status is ACTIVE (providers that report no bundles);
    8. ``installed``: installed (or installed, then removed), no bundle started yet;
    9. ``delivered``: DELIVERED and not installed.

    ``needs_attention`` is on top of the stage: an order flagged for attention is in both.
    Bundles are the order's own (``Order.own_bundles``): a top-up's, not its first sale's.
    Rules 1-5 and 7-9 read as ``wording.order_state`` words them (Failed/Cancelled, Being prepared,
    Refunded, Expired, Active, Out of data, Installed, Delivered, not installed).
    """

    ALL = "all"
    PENDING = "pending"
    DELIVERED = "delivered"
    INSTALLED = "installed"
    ACTIVE = "active"
    OUT_OF_DATA = "out_of_data"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    FAILED = "failed"
    NEEDS_ATTENTION = "needs_attention"

    @property
    def label(self) -> str:
        """The filter's name on screen ("Out of data", as ``wording.order_state`` says it)."""
        return self.value.replace("_", " ").capitalize()

    @property
    def cli_name(self) -> str:
        """Its name on the command line: the screen's words, e.g. ``out-of-data``."""
        return self.value.replace("_", "-")


_ENDED = frozenset({BundleState.EXPIRED, BundleState.LAPSED})
_WAITING = frozenset({BundleState.PROCESSING, BundleState.QUEUED})


def stage(order: Order, now: datetime | None = None) -> OrderFilter:
    """The one stage of its life ``order`` is in at ``now`` (see ``OrderFilter`` for the rules; without
    ``now``, as if its validity had not run out)."""
    if order.status in (OrderStatus.FAILED, OrderStatus.CANCELLED):
        return OrderFilter.FAILED
    if order.status in (OrderStatus.PENDING, OrderStatus.UNKNOWN):
        return OrderFilter.PENDING
    if order.refunded:
        return OrderFilter.REFUNDED
    states = {b.state for b in order.own_bundles}
    if order.activation_status is ActivationStatus.EXPIRED or past_validity(order, now):
        return OrderFilter.EXPIRED
    if BundleState.ACTIVE in states:
        return OrderFilter.ACTIVE
    if BundleState.DEPLETED in states:
        return OrderFilter.OUT_OF_DATA
    if states & _ENDED and not states & _WAITING:
        return OrderFilter.EXPIRED
    if order.activation_status is ActivationStatus.ACTIVE and not states:
        return OrderFilter.ACTIVE
    if order.is_installed:
        return OrderFilter.INSTALLED
    return OrderFilter.DELIVERED


def filters_of(order: Order, now: datetime | None = None) -> frozenset[OrderFilter]:
    """Every filter that shows ``order``: ``all``, its stage, and ``needs_attention`` when flagged."""
    found = {OrderFilter.ALL, stage(order, now)}
    if order.needs_attention:
        found.add(OrderFilter.NEEDS_ATTENTION)
    return frozenset(found)


# ---------------------------------------------------------------- finding


class OrderRow(NamedTuple):
    """One line of the Orders screen: what the desk reads, precomputed. Never holds the activation code."""

    id: str
    created_at: datetime  # always timezone-aware (a naive record time is taken as UTC)
    client_reference: str
    kind: OrderKind
    provider: ProviderName
    customer: str  # as the counter names them: label, else ICCID tail, else client reference
    plan: str
    summary: str  # data / validity, e.g. "5 GB / 30 days"
    destination: str
    price: Money
    state: str  # wording.order_state
    stage: OrderFilter
    needs_attention: bool
    iccid: str | None
    data_left: str  # wording.data_left
    valid_until: datetime | None

    @property
    def cells(self) -> tuple[str, ...]:
        """The Orders screen's columns: sold, customer, destination, plan, state, ICCID tail, provider."""
        tail = f"…{iccid_tail(self.iccid)}" if self.iccid else "—"
        plan = f"{top_up_mark(self.kind)}{self.summary}"
        return (formats.day(self.created_at), self.customer, self.destination, plan, self.state, tail, self.provider.display)

    def as_json(self) -> dict[str, Any]:
        """JSON-ready: money as exact strings, times in ISO 8601."""
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "client_reference": self.client_reference,
            "kind": self.kind.value,
            "provider": self.provider.value,
            "customer": self.customer,
            "plan": self.plan,
            "summary": self.summary,
            "destination": self.destination,
            "price": money_json(self.price),
            "state": self.state,
            "stage": self.stage.value,
            "needs_attention": self.needs_attention,
            "iccid": self.iccid,
            "data_left": self.data_left,
            "valid_until": _iso(self.valid_until),
        }


_ID = OrderRow._fields.index("id")
_CREATED = OrderRow._fields.index("created_at")
_FIRST, _SECOND = operator.itemgetter(0), operator.itemgetter(1)  # of a (row, text) pair; _FIRST(row) is its id
_STAGE = OrderRow._fields.index("stage")
_ATTENTION = OrderRow._fields.index("needs_attention")
_ICCID_END = "\x1e"  # follows the ICCID in the search text: "1234\x1e" in text <=> the ICCID ends in 1234
_TAIL_DIGITS = 4  # an all-digit word this long or longer also means "the ICCID's last digits"
_CACHED_ANSWERS = 8


def fold(text: str) -> str:
    """Text as it is matched: casefolded, accents dropped ("Müller" and "muller" both read "muller")."""
    text = text.casefold()
    if text.isascii():
        return text
    return _MARKS.sub("", unicodedata.normalize("NFKD", text))


# The combining diacritical marks NFKD splits off letters (the Unicode blocks of that name).
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def search_words(text: str) -> tuple[str, ...]:
    """The words of a query as they are matched: cleaned, folded, distinct, longest first."""
    return tuple(sorted(set(fold(clean(text, max_length=200)).split()), key=len, reverse=True))


def _plain(value: str, max_length: int = 120) -> str:
    # Most text is already clean: skip the per-character walk (isprintable() is false for every
    # character clean() drops).
    return value if value.isprintable() and len(value) <= max_length else clean(value, max_length=max_length)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _sort_key(row: OrderRow) -> tuple[datetime, str]:
    return row.created_at, row.id  # the store's order too: newest first, ties by id


@contextmanager
def _collection_paused() -> Iterator[None]:
    """Garbage collection held off while 100,000 rows are built: each full collection on the way would
    scan every row built so far (a third of the load time). Rows hold no reference cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _pair_key(pair: tuple[OrderRow, str]) -> tuple[datetime, str]:
    row = pair[0]
    return row[_CREATED], row[_ID]  # _sort_key(row), by index: this runs 100,000 times at load


def summary(order: Order, now: datetime | None = None) -> OrderRow:
    """The order's row at ``now``, as the Orders screen and ``esim-tui orders`` list it."""
    return _summarise(order, _same, now)[0]


def _summarise(order: Order, share: Callable[[Any], Any], now: datetime | None = None) -> tuple[OrderRow, str]:
    """The order's row, and its search text before ``fold``. ``share`` returns one copy of equal values.
    Without ``now`` (the store's summaries, kept for days), as if no validity had run out: see ``_as_of``."""
    plan = order.plan
    dest = plan.destination
    row = OrderRow(
        id=order.id,
        created_at=_aware(order.created_at),
        client_reference=order.client_reference,
        kind=order.kind,
        provider=order.provider,
        customer=share(_plain(customer(order))),
        plan=share(_plain(plan.name)),
        summary=share(plan_summary(plan)),
        destination=share(dest.name),
        price=share(order.price),
        state=share(order_state(order, now)),
        stage=stage(order, now),
        needs_attention=bool(order.needs_attention),
        iccid=order.iccid,
        data_left=share(data_left(order)),
        valid_until=order.expires_at,
    )
    fields = [
        order.client_reference,
        order.customer_label,
        order.customer_email,
        order.provider_order_id or "",
        dest.name,
        dest.code,
        dest.alpha3 or "",
        plan.name,
        row.created_at.strftime("%Y-%m-%d"),
    ]
    # Only matched, never shown: no cleaning needed.
    return row, (order.iccid or "") + _ICCID_END + " " + " ".join(f for f in fields if f)


# ---------------------------------------------------------------- the summaries the store keeps

# The code a row's words come from: a change to any of these files changes DeskSummary.tag, so the
# summaries on disk are rebuilt rather than showing yesterday's wording or filing an order in the
# wrong filter. Bump _ROW_FORMAT when the columns themselves change.
_ROW_FORMAT = 1
_ROW_SOURCES = (
    "esim_tui.services.support",
    "esim_tui.services.wording",
    "esim_tui.domain.orders",
    "esim_tui.domain.plans",
    "esim_tui.domain.formats",
    "esim_tui.domain.money",
    "esim_tui.domain.codes",
    "esim_tui.domain.text",
)


@cache
def _row_tag() -> str:
    digest = hashlib.sha256()
    for name in _ROW_SOURCES:
        module = importlib.import_module(name)
        try:
            digest.update(Path(module.__file__ or "").read_bytes())
        except OSError:
            digest.update(name.encode())  # no source shipped: only _ROW_FORMAT tells versions apart
    return f"desk-{_ROW_FORMAT}-{digest.hexdigest()[:16]}"


_KINDS = {k.value: k for k in OrderKind}
_PROVIDERS = {p.value: p for p in ProviderName}
_STAGES = {f.value: f for f in OrderFilter}


class DeskSummary:
    """The Orders screen's row and search text of each order, as columns the store keeps beside each
    archive segment (``OrderStore.summaries``). Never the activation code: only what the list shows and
    the search matches (the label and e-mail too: the files are 0600 like the orders).

    A column of few distinct values (plan, state, price...) is written as its distinct values and one
    number per order: the file is a third smaller, each value is converted (a Money built, an enum
    looked up) once, not once per order, and the rows of a segment share one copy of it.

    Holds no state: the store keeps it to refresh the summaries of the segments it writes.
    """

    @property
    def tag(self) -> str:
        # The rows' money, data and dates are written in the shop's locale: another locale, other rows.
        return f"{_row_tag()}-{formats.shop_locale()}"

    def make(self, orders: list[Order]) -> dict[str, Any]:
        """The columns of ``orders``, JSON-ready; money as an exact decimal string and its currency."""
        pairs = [_summarise(order, _same) for order in orders]
        rows = [row for row, _ in pairs]
        return {
            "created": [r.created_at.isoformat() for r in rows],
            "ref": [r.client_reference for r in rows],
            "attention": [r.needs_attention for r in rows],
            "iccid": [r.iccid for r in rows],
            "valid_until": [r.valid_until.isoformat() if r.valid_until else None for r in rows],
            "text": [fold(raw) for _, raw in pairs],
            "customer": _coded(r.customer for r in rows),
            "kind": _coded(r.kind.value for r in rows),
            "provider": _coded(r.provider.value for r in rows),
            "plan": _coded(r.plan for r in rows),
            "summary": _coded(r.summary for r in rows),
            "destination": _coded(r.destination for r in rows),
            "price": _coded(f"{r.price.amount} {r.price.currency}" for r in rows),
            "state": _coded(r.state for r in rows),
            "stage": _coded(r.stage.value for r in rows),
            "data_left": _coded(r.data_left for r in rows),
        }

    def read(self, ids: list[str], columns: dict[str, Any]) -> list[tuple[OrderRow, str]]:
        """(row, folded search text) per id, from columns ``make`` wrote; one of ``store.summaries.UNREADABLE``
        for anything else (a damaged file): the store then summarises the segment afresh."""
        c, n = columns, len(ids)
        for name, types in _PLAIN_COLUMNS.items():
            column = c[name]
            if not isinstance(column, list) or len(column) != n or not set(map(type, column)) <= types:
                raise TypeError(f"column {name}")
        created = list(map(datetime.fromisoformat, c["created"]))
        if None in map(operator.attrgetter("tzinfo"), created):
            raise ValueError("a creation time without its time zone")
        valid_until = [None if v is None else datetime.fromisoformat(v) for v in c["valid_until"]]
        fields = zip(
            ids,
            created,
            c["ref"],
            _decoded(c["kind"], n, _KINDS.__getitem__),
            _decoded(c["provider"], n, _PROVIDERS.__getitem__),
            _decoded(c["customer"], n, _text),
            _decoded(c["plan"], n, _text),
            _decoded(c["summary"], n, _text),
            _decoded(c["destination"], n, _text),
            _decoded(c["price"], n, _price),
            _decoded(c["state"], n, _text),
            _decoded(c["stage"], n, _STAGES.__getitem__),
            c["attention"],
            c["iccid"],
            _decoded(c["data_left"], n, _text),
            valid_until,
            strict=True,  # a short column raises, rather than dropping orders without a word
        )
        return list(zip(map(_new_row, fields), c["text"], strict=True))


DESK_SUMMARY = DeskSummary()

# OrderRow from a tuple of its fields in order, in C: OrderRow(...) runs a Python __new__ per row.
_new_row = partial(tuple.__new__, OrderRow)


def _text(value: Any) -> str:
    if type(value) is not str:
        raise TypeError("not text")
    return value


def _price(value: Any) -> Money:
    amount, currency = value.split(" ")
    exact = Decimal(amount)  # as written: "11.5625"; InvalidOperation (an ArithmeticError) if no number
    if not exact.is_finite():
        raise ValueError("not an amount")
    return Money(amount=exact, currency=currency)


_PLAIN_COLUMNS = {
    "created": {str},
    "ref": {str},
    "attention": {bool},
    "iccid": {str, type(None)},
    "valid_until": {str, type(None)},
    "text": {str},
}


def _coded(values: Iterable[str]) -> dict[str, list[Any]]:
    """A column as its distinct values and, per order, the position of its value among them."""
    seen: dict[str, int] = {}
    codes = [seen.setdefault(v, len(seen)) for v in values]
    return {"values": list(seen), "codes": codes}


def _decoded(column: dict[str, list[Any]], n: int, convert: Callable[[Any], Any]) -> list[Any]:
    """The ``n`` values of a ``_coded`` column, each distinct value passed once through ``convert``."""
    values = list(map(convert, column["values"]))
    codes = column["codes"]
    if not isinstance(codes, list) or len(codes) != n or (codes and min(codes) < 0):
        raise ValueError("codes")  # a negative code would silently pick a value from the end
    return list(map(values.__getitem__, codes))  # TypeError for a code that is not a number


def _same(value: Any) -> Any:
    return value


_LIVE = frozenset({OrderFilter.DELIVERED, OrderFilter.INSTALLED, OrderFilter.ACTIVE, OrderFilter.OUT_OF_DATA})
_VALID_UNTIL = OrderRow._fields.index("valid_until")


def _as_of(rows: list[OrderRow], now: datetime) -> None:
    """Rows summarised without the time, made to read as at ``now`` in place: a delivered eSIM past its
    validity is expired (``stage``, ``wording.order_state``), whatever its last bundle said."""
    for i, until in enumerate(map(operator.itemgetter(_VALID_UNTIL), rows)):
        if until is not None and _aware(until) <= now and rows[i][_STAGE] in _LIVE:
            row = rows[i]
            rows[i] = row._replace(stage=OrderFilter.EXPIRED, state=row.state if row.needs_attention else "Expired")


class _Answer(NamedTuple):
    rows: list[OrderRow]
    texts: list[str]  # parallel to rows: narrowing a later query needs no lookup


class OrderFinder:
    """Every order of the store, searchable as the desk types. Build with ``load`` or ``from_orders``.

    Holds a summary row and a search text per order, newest first. ``update`` takes in a saved order;
    all other calls only read. Not thread-safe: call it from one thread (the UI's).
    """

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now  # what "past its validity" is measured against; None: never
        self._rows: list[OrderRow] = []
        self._texts: list[str] = []
        self._by_id: dict[str, OrderRow] = {}
        self._answers: OrderedDict[tuple[tuple[str, ...], OrderFilter], _Answer] = OrderedDict()
        self._shared: dict[Any, Any] = {}  # one copy of each repeated value (plan names, states, prices)
        self._share = lambda value: self._shared.setdefault(value, value)

    # ------------------------------------------------------------ building

    @classmethod
    def load(cls, store, now: datetime | None = None) -> OrderFinder:
        """Every order in ``store`` (an OrderStore), active and archived, from the store's summaries
        (see ``DeskSummary``): the same rows as ``from_orders(store.all(), now)``, without parsing every order."""
        finder = cls(now)
        with _collection_paused():
            finder._fill(store.summaries(DESK_SUMMARY), folded=True)
        return finder

    @classmethod
    def from_orders(cls, orders: Iterable[Order], now: datetime | None = None) -> OrderFinder:
        """A finder over ``orders`` (any order; kept newest first), as they stand at ``now``."""
        finder = cls(now)
        finder._fill((_summarise(order, finder._share) for order in orders), folded=False)
        return finder

    def _fill(self, pairs: Iterable[tuple[OrderRow, str]], *, folded: bool) -> None:
        """Take (row, search text) pairs, the last of each id winning; ``folded``: the texts already are."""
        # map/zip with itemgetter rather than comprehensions: C loops, a tenth of the 100,000-order load.
        pairs = list(pairs)
        by_id = dict(zip(map(_FIRST, map(_FIRST, pairs)), pairs))
        ordered = sorted(by_id.values(), key=_pair_key, reverse=True)
        self._rows = list(map(_FIRST, ordered))
        if self._now is not None:
            _as_of(self._rows, self._now)
        # Folded in one pass, in search order: the texts lie together in memory, which makes a scan of
        # all of them two to three times faster than texts scattered among the parsed orders.
        self._texts = list(map(_SECOND, ordered)) if folded else [fold(raw) for _, raw in ordered]
        self._by_id = dict(zip(map(operator.itemgetter(_ID), self._rows), self._rows))

    # ------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[OrderRow]:
        return iter(self._rows)

    def get(self, order_id: str) -> OrderRow | None:
        return self._by_id.get(order_id)

    def search(self, text: str, filter: OrderFilter = OrderFilter.ALL, limit: int | None = None) -> list[OrderRow]:
        """The orders matching every word of ``text`` (anywhere in ICCID, client reference, customer
        label, e-mail, provider order id, destination name or code, plan name, date YYYY-MM-DD), in
        ``filter``, newest first. When a word has 4 or more digits only, orders whose ICCID ends with it
        come first (the desk asks for "the last four digits"). At most ``limit`` rows."""
        words = search_words(text)
        filter = OrderFilter(filter)
        answer = self._answer(words, filter)
        rows = answer.rows
        tails = [w + _ICCID_END for w in words if len(w) >= _TAIL_DIGITS and w.isdigit()]
        if tails:
            ends = [False] * len(rows)
            for tail in tails:
                ends = list(map(operator.or_, ends, map(operator.contains, answer.texts, repeat(tail))))
            if any(ends):
                rows = list(compress(rows, ends)) + list(compress(rows, map(operator.not_, ends)))
        return rows[:limit] if limit is not None else list(rows)

    def _answer(self, words: tuple[str, ...], filter: OrderFilter) -> _Answer:
        key = (words, filter)
        found = self._answers.get(key)
        if found is not None:
            self._answers.move_to_end(key)
            return found
        base_words, base = self._narrowest(words, filter)
        rows, texts = base
        for word in words:
            if word in base_words:
                continue  # every row of the base already has it
            keep = list(map(operator.contains, texts, repeat(word)))
            if False in keep:  # else every row has it: keep the lists as they are
                rows = list(compress(rows, keep))
                texts = list(compress(texts, keep))
        answer = _Answer(rows, texts)
        self._answers[key] = answer
        while len(self._answers) > _CACHED_ANSWERS:
            self._answers.popitem(last=False)
        return answer

    def _narrowest(self, words: tuple[str, ...], filter: OrderFilter) -> tuple[tuple[str, ...], _Answer]:
        """The smallest kept answer that holds every match of ``words`` (or the whole filter)."""
        best: tuple[tuple[str, ...], _Answer] | None = None
        for (old_words, old_filter), answer in self._answers.items():
            if old_filter is not filter:
                continue
            if all(any(old in new for new in words) for old in old_words):
                if best is None or len(answer.rows) < len(best[1].rows):
                    best = old_words, answer
        if best is not None:
            return best
        return (), self._in_filter(filter)

    def _in_filter(self, filter: OrderFilter) -> _Answer:
        if filter is OrderFilter.ALL:
            return _Answer(self._rows, self._texts)
        if filter is OrderFilter.NEEDS_ATTENTION:
            keep = list(map(operator.itemgetter(_ATTENTION), self._rows))
        else:
            keep = list(map(operator.is_, map(operator.itemgetter(_STAGE), self._rows), repeat(filter)))
        answer = _Answer(list(compress(self._rows, keep)), list(compress(self._texts, keep)))
        self._answers[((), filter)] = answer
        return answer

    # ------------------------------------------------------------ changes

    def update(self, order: Order) -> OrderRow:
        """Take in a new or changed order (call it on every save). Returns its new row."""
        row, raw = _summarise(order, self._share, self._now)
        text = fold(raw)
        old = self._by_id.get(order.id)
        if old is not None:
            i = self._locate(_sort_key(old))
            if _sort_key(old) == _sort_key(row):
                self._rows[i], self._texts[i] = row, text
            else:
                del self._rows[i], self._texts[i]
                old = None
        if old is None:
            i = self._locate(_sort_key(row))
            self._rows.insert(i, row)
            self._texts.insert(i, text)
        self._by_id[order.id] = row
        self._answers.clear()  # answers hold rows: the next keystroke searches afresh
        return row

    def _locate(self, key: tuple[datetime, str]) -> int:
        """Where ``key`` is, or would go, in the newest-first rows (binary search)."""
        lo, hi = 0, len(self._rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if _sort_key(self._rows[mid]) > key:
                lo = mid + 1
            else:
                hi = mid
        return lo


# ---------------------------------------------------------------- the order's life


class TimelineEntry(NamedTuple):
    at: datetime
    event: str  # in the counter's words
    detail: str = ""


# History events (see domain.orders and services.ordering) in the counter's words.
_EVENTS = {
    "INTENT": "Created",
    "SENT": "Sent to the provider",
    "OUTCOME UNKNOWN": "No definite answer yet",
    "FOUND": "Found at the provider",
    "UNKNOWN": "Outcome unknown",
    "PENDING": "Being prepared",
    "DELIVERED": "Delivered",
    "FAILED": "Failed",
    "CANCELLED": "Cancelled",
    "ACTIVATION CODE RECEIVED": "Activation code received",
    "ACTIVATION CODE DIFFERS": "A different activation code came",
    "SHOWN": "Activation code shown",
    "SHOWN AGAIN": "Activation code shown again",
    "CODE COPIED": "Activation code copied",
    "EXPORTED": "QR and install links exported",
    "REFUND CHECKED": "Refund looked into",
    "ICCID MISMATCH": "The provider reports another ICCID",
    "NEEDS ATTENTION": "Needs attention",
    "SETTLED BY HAND": "Settled by hand",
    "NOT_INSTALLED": "Not installed yet",
    "DOWNLOADED": "Downloading to the phone",
    "INSTALLED": "Installed",
    "REMOVED": "Removed from the phone",
    "UNAVAILABLE": "Can no longer be installed",
    "ACTIVE": "First use (active)",
    "EXPIRED": "Expired",
    "REFUND REQUESTED": "Refund asked for",
    "REFUNDED": "Refunded",
    "REFUND REFUSED": "Refund refused",
    "TOPPED UP": "Topped up",
    "NEW ESIM SOLD": "New eSIM sold",
    "RECEIPT E-MAILED": "Receipt e-mailed to the customer",
    "RECEIPT NOT SENT": "Receipt e-mail failed",
    "bundle processing": "Bundle being prepared",
    "bundle queued": "Bundle waiting for first use",
    "bundle active": "Bundle in use (first use)",
    "bundle depleted": "Out of data",
    "bundle expired": "Bundle expired",
    "bundle revoked": "Bundle revoked",
    "bundle lapsed": "Bundle lapsed unused",
}
# What the provider reports of the eSIM: each fact once on the timeline, however often a poll repeats it.
_PROVIDER_FACTS = frozenset({*(s.value for s in InstallState), *(s.value for s in ActivationStatus), *(f"bundle {s.value}" for s in BundleState)})
_ACCEPTED = ("PENDING", "DELIVERED")  # the provider took the order: the shop is charged then
_FACT_WORDS = frozenset(_EVENTS[e] for e in _PROVIDER_FACTS if e in _EVENTS)  # as the timeline words them
_LINKED_ID = re.compile(r"\(order ([^)\s]+)\)$")


def timeline(order: Order, linked: Iterable[Order] = ()) -> list[TimelineEntry]:
    """The order's whole life from its history, oldest first, in the counter's words.

    ``linked`` may hold the order it tops up (or follows) and its own top-ups and follow-up sales; each
    adds what it says about this eSIM. Where the provider reported when something happened (install,
    first use, a bundle starting), that time is used rather than when esim-tui learnt it.
    """
    entries: list[TimelineEntry] = []
    if not any(c.event == "INTENT" for c in order.history):
        entries.append(TimelineEntry(_aware(order.created_at), "Created", _intent(order)))
    charged = False
    for change in order.history:
        at = _aware(change.at)
        event = _EVENTS.get(change.event, clean(change.event, max_length=60))
        detail = clean(change.detail, max_length=300)
        if change.event == "INSTALLED" and order.installed_at:
            at = _aware(order.installed_at)
        elif change.event == "ACTIVE" and order.activated_at:
            at = _aware(order.activated_at)
        elif change.event == "bundle active":
            started = next((b.started_at for b in order.bundles if b.bundle_name == change.detail and b.started_at), None)
            at = _aware(started) if started else at
        if change.event in _ACCEPTED and not charged:
            charged = True
            entries.append(TimelineEntry(at, "Charged", str(order.price)))
        entries.append(TimelineEntry(at, event, detail))
    # Times the provider reported without a change noted (e.g. a record adopted after the fact).
    noted = {c.event for c in order.history}
    if order.installed_at and not noted & {"INSTALLED", "REMOVED"}:
        entries.append(TimelineEntry(_aware(order.installed_at), _EVENTS["INSTALLED"]))
    if order.activated_at and "ACTIVE" not in noted:
        entries.append(TimelineEntry(_aware(order.activated_at), _EVENTS["ACTIVE"]))
    entries += _linked_entries(order, linked)
    entries.sort(key=lambda e: e.at)  # stable: same-time entries keep the history's order
    # Once each: an entry told twice, and a fact of the provider's reported again (a poll answering
    # INSTALLED after a DOWNLOADED blip). Each of the agent's actions is its own entry, with its time.
    seen: set[object] = set()
    once = []
    for entry in entries:
        key = (entry.event, entry.detail) if entry.event in _FACT_WORDS else entry
        if key not in seen:
            seen.add(key)
            once.append(entry)
    return once


def _intent(order: Order) -> str:
    return clean(f"{order.plan.name} for {order.price}", max_length=300)


def _linked_entries(order: Order, linked: Iterable[Order]) -> list[TimelineEntry]:
    noted = {m.group(1) for c in order.history if (m := _LINKED_ID.search(c.detail))}
    out = []
    for other in linked:
        if other.id == order.id:
            continue
        what = f"{clean(other.plan.name, max_length=120)} (order {other.id})"
        if other.id == order.linked_order_id:
            verb = "Tops up" if order.kind is OrderKind.TOP_UP else "Follows"
            tail = f", ICCID …{iccid_tail(other.iccid)}" if other.iccid else ""
            out.append(TimelineEntry(_aware(order.created_at), f"{verb} an earlier order", what + tail))
        elif other.linked_order_id == order.id and other.id not in noted:
            # Not noted on this order (it failed, or is still under way): tell it from the linked record.
            top_up = other.kind is OrderKind.TOP_UP
            out.append(TimelineEntry(_aware(other.created_at), "Top-up ordered" if top_up else "New eSIM ordered", what))
            done = next((c for c in other.history if c.event in ("DELIVERED", "FAILED", "CANCELLED")), None)
            if done is not None and done.event != "DELIVERED":
                out.append(TimelineEntry(_aware(done.at), "Top-up failed" if top_up else "New eSIM failed", what))
            elif done is not None:
                out.append(TimelineEntry(_aware(done.at), "Topped up" if top_up else "New eSIM sold", what))
        if other.linked_order_id == order.id:
            # A refund is recorded on the record that bought the bundle; the eSIM's first sale says so too.
            refund = next((c for c in other.history if c.event == "REFUNDED"), None)
            if refund is not None:
                out.append(TimelineEntry(_aware(refund.at), "Top-up refunded" if other.kind is OrderKind.TOP_UP else "Follow-up sale refunded", what))
    return out


# ---------------------------------------------------------------- linked orders


def linked_orders(store, order: Order) -> list[Order]:
    """The orders linked to ``order`` in ``store`` (an OrderStore): the one it tops up or follows, and its
    top-ups and follow-up sales, oldest first. Index look-ups only (ICCID, ids), never a scan."""
    found: dict[str, Order] = {}
    ids = [*order.follow_ups, *([order.linked_order_id] if order.linked_order_id else [])]
    for other in store.by_iccid(order.iccid) if order.iccid else []:
        if other.linked_order_id == order.id or other.id == order.linked_order_id:
            found[other.id] = other
    for change in order.history:
        if m := _LINKED_ID.search(change.detail):
            ids.append(m.group(1))
    for oid in ids:
        if oid not in found and oid != order.id and (other := store.get(oid)) is not None:
            found[oid] = other
    return sorted(found.values(), key=lambda o: _aware(o.created_at))


def find_order(store, key: str) -> Order | None:
    """The order a ticket names: by order id, client reference, provider order id or full ICCID.

    An ICCID names the eSIM: its first sale is returned (a top-up's own record by its own ids)."""
    key = key.strip()
    if not key:
        return None
    found = store.get(key) or store.by_client_reference(key) or store.by_provider_order_id(key)
    if found is not None:
        return found
    on_esim = store.by_iccid(key.replace(" ", ""))
    return next((o for o in on_esim if o.kind is OrderKind.SALE), on_esim[0] if on_esim else None)


# ---------------------------------------------------------------- the detail view

SPENT = "spent (installed)"


def code_is_spent(order: Order, linked: Iterable[Order] = ()) -> bool:
    """Once the eSIM is on a phone its one-time code cannot install it again. ``linked`` orders on the
    same eSIM (a top-up's first sale) count too."""
    on_esim = [order, *(o for o in linked if order.iccid and o.iccid == order.iccid)]
    return any(
        o.is_installed
        or o.activation_status is ActivationStatus.ACTIVE
        or any(b.started_at is not None or b.state in (BundleState.ACTIVE, BundleState.DEPLETED) for b in o.bundles)
        for o in on_esim
    )


def money_json(money: Money | None) -> dict[str, str] | None:
    return None if money is None else {"amount": str(money.amount), "currency": money.currency}


def _iso(moment: datetime | None) -> str | None:
    return _aware(moment).isoformat() if moment else None


def _words(state: InstallState | ActivationStatus | None) -> str | None:
    return state.value.replace("_", " ").lower() if state else None


def _bundle(b: BundleUsage) -> dict[str, Any]:
    used = b.used_bytes
    return {
        "name": clean(b.bundle_name, max_length=120),
        "state": b.state.value,
        "unlimited": b.unlimited,
        "initial_bytes": b.initial_bytes,
        "used_bytes": used,
        "remaining_bytes": b.remaining_bytes,
        "data": "unlimited" if b.unlimited else (format_bytes(b.initial_bytes) if b.initial_bytes is not None else None),
        "used": format_bytes(used) if used is not None else None,
        "left": "unlimited" if b.unlimited else (format_bytes(b.remaining_bytes) if b.remaining_bytes is not None else None),
        "assigned_at": _iso(b.assigned_at),
        "started_at": _iso(b.started_at),
        "ends_at": _iso(b.ends_at),
    }


def describe(order: Order, linked: Iterable[Order] = (), now: datetime | None = None) -> dict[str, Any]:
    """What the order detail shows, JSON-ready (money as exact strings, times ISO 8601, text cleaned).

    The activation code is included only while the eSIM is not installed (the desk may read it to the
    customer); afterwards ``activation_code`` is None and ``activation_code_state`` says it is spent.
    """
    linked = list(linked)
    plan = order.plan
    code = order.activation_code
    if code is None:
        code_state = "not received"
    elif code_is_spent(order, linked):
        code, code_state = None, SPENT
    else:
        code_state = "not installed yet: it may be given to the customer"
    return {
        "id": order.id,
        "client_reference": order.client_reference,
        "kind": order.kind.value,
        "linked_order_id": order.linked_order_id,
        "state": order_state(order, now),
        "stage": stage(order, now).value,
        "needs_attention": clean(order.needs_attention, max_length=500) or None,
        "status": order.status.value,
        "failure": (
            {"code": clean(order.failure.code, max_length=80), "reason": clean(order.failure.reason), "is_user_fixable": order.failure.is_user_fixable}
            if order.failure
            else None
        ),
        "provider": order.provider.value,
        "provider_name": order.provider.display,
        "provider_order_id": order.provider_order_id,
        "plan": {
            "name": clean(plan.name, max_length=200),
            "plan_id": plan.plan_id,
            "product_id": plan.product_id,
            "destination": plan.destination.label,
            "destination_code": plan.destination.code,
            "data": plan.data_label,
            "data_mb": plan.data_mb,
            "validity_days": plan.validity_days,
            "summary": plan_summary(plan),
            "list_price": money_json(plan.price),
        },
        "price": money_json(order.price),
        "customer": {"label": clean(order.customer_label, max_length=120), "email": clean(order.customer_email, max_length=254)},
        "iccid": order.iccid,
        "activation_code": code,
        "activation_code_state": code_state,
        "install_state": order.install_state.value if order.install_state else None,
        "activation_status": order.activation_status.value if order.activation_status else None,
        "installed_at": _iso(order.installed_at),
        "activated_at": _iso(order.activated_at),
        "expires_at": _iso(order.expires_at),
        "data_left": data_left(order),
        "bundles": [_bundle(b) for b in order.bundles],
        "created_at": _iso(order.created_at),
        "updated_at": _iso(order.updated_at),
        "shown_at": _iso(order.shown_at),
        "linked_orders": [
            {
                "id": o.id,
                "relation": (("tops up" if order.kind is OrderKind.TOP_UP else "follows") if o.id == order.linked_order_id
                             else ("top-up" if o.kind is OrderKind.TOP_UP else "follow-up sale")),
                "plan": clean(o.plan.name, max_length=200),
                "price": money_json(o.price),
                "state": order_state(o, now),
                "created_at": _iso(o.created_at),
            }
            for o in linked
            if o.id != order.id
        ],
        "timeline": [{"at": _iso(e.at), "event": e.event, "detail": e.detail} for e in timeline(order, linked)],
    }


def _when(iso: str | None) -> str:
    if not iso:
        return "—"
    moment = datetime.fromisoformat(iso)
    zone = "UTC" if moment.utcoffset() is not None and not moment.utcoffset() else moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M} {zone}"


def _money(value: dict[str, str] | None) -> str:
    return format_money(Money(amount=Decimal(value["amount"]), currency=value["currency"])) if value else "—"


def render_text(order: Order, linked: Iterable[Order] = (), now: datetime | None = None) -> str:
    """The order detail as plain text (``esim-tui orders show``): the same facts as ``describe``."""
    d = describe(order, linked, now)
    plan = d["plan"]
    who = d["customer"]["label"] or "—"
    if d["customer"]["email"]:
        who += f" <{d['customer']['email']}>"
    provider = d["provider_name"]
    if d["provider_order_id"]:
        provider += f" · provider order {d['provider_order_id']}"
    plan_id = f"plan {plan['plan_id']}" + (f" (product {plan['product_id']})" if plan["product_id"] else "")
    facts = [
        ("Order", f"{d['id']} ({d['kind'].replace('_', '-')})"),
        ("State", f"{d['state']}  [{d['stage'].replace('_', ' ')}]"),
    ]
    if d["needs_attention"]:
        facts.append(("Needs attention", d["needs_attention"]))
    if d["failure"]:
        facts.append(("Failure", f"{d['failure']['reason']} ({d['failure']['code']})"))
    facts += [
        ("Customer", who),
        ("Plan", f"{plan['name']} · {plan['destination']} · {plan['summary']}"),
        ("Price", f"{_money(d['price'])} (list price {_money(plan['list_price'])})"),
        ("Provider", f"{provider} · {plan_id}"),
        ("Client reference", d["client_reference"]),
        ("ICCID", d["iccid"] or "—"),
        ("Activation code", d["activation_code"] or d["activation_code_state"]),
        ("Install", f"{_words(order.install_state) or '—'}" + (f", {_when(d['installed_at'])}" if d["installed_at"] else "")),
        ("Activation", activation_words(order) + (f", {_when(d['activated_at'])}" if d["activated_at"] else "")),
        ("Valid until", _when(d["expires_at"])),
        ("Data left", d["data_left"]),
        ("Sold", _when(d["created_at"])),
    ]
    if d["linked_order_id"]:
        facts.insert(1, ("Top-up of" if order.kind is OrderKind.TOP_UP else "Follows", f"order {d['linked_order_id']}"))
    width = max(len(label) for label, _ in facts) + 2
    lines = [f"{label:<{width}}{value}" for label, value in facts]
    lines += ["", "Bundles"]
    for b in d["bundles"]:
        usage = "unlimited" if b["unlimited"] else f"used {b['used'] or '—'} of {b['data'] or '—'}, {b['left'] or '—'} left"
        lines.append(f"  {b['name']}  {b['state']}  {usage}  ends {_when(b['ends_at'])}")
    if not d["bundles"]:
        lines.append("  none reported")
    if d["linked_orders"]:
        lines += ["", "Linked orders"]
        for o in d["linked_orders"]:
            lines.append(f"  {o['relation']}: {o['id']}  {o['plan']}  {_money(o['price'])}  {o['state']}  {_when(o['created_at'])}")
    lines += ["", "Timeline"]
    for e in d["timeline"]:
        lines.append(f"  {_when(e['at'])}  {e['event']}" + (f": {e['detail']}" if e["detail"] else ""))
    return "\n".join(lines) + "\n"
