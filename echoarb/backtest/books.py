"""The quotes of a recording on the merge clock: the book of any venue at any later moment.

A tick carries a venue's whole ask ladder of a pair (``BOOK_DEPTH`` levels per side, in the
pair's orientation), so the book of (pair, venue, outcome) at time ``T`` is the last tick of
that key at or before ``T``.

The clock is the merge clock, ``recv_ts``: the order in which the worker's strict merge
releases ticks, so the scanner's own view. Venue timestamps cannot serve: they are not
comparable across venues (Kalshi stamps some messages to the second, Polymarket to the
millisecond) and not even monotonic within one venue's stream, so "the last Kalshi book
stamped before Polymarket's 12:00:00.292" can be a book older than the one the scanner
priced. On the merge clock, delay 0 is exactly the books the opportunity was computed from.
"""

from __future__ import annotations

from bisect import bisect_right

from echoarb.model import Tick

BookKey = tuple[str, str, str]
"""(pair id, venue, outcome name or "")."""


class BookTimeline:
    """Every tick of every (pair, venue, outcome), queryable by merge time (``recv_ts``)."""

    __slots__ = ("_ticks", "_times", "newest_ts")

    def __init__(self) -> None:
        self._times: dict[BookKey, list[int]] = {}
        self._ticks: dict[BookKey, list[Tick]] = {}
        self.newest_ts = 0

    def add(self, tick: Tick) -> None:
        key = (tick.pair_id, tick.venue, tick.outcome)
        times = self._times.get(key)
        if times is None:
            self._times[key] = [tick.recv_ts]
            self._ticks[key] = [tick]
        elif tick.recv_ts >= times[-1]:
            times.append(tick.recv_ts)
            self._ticks[key].append(tick)
        else:
            i = bisect_right(times, tick.recv_ts)
            times.insert(i, tick.recv_ts)
            self._ticks[key].insert(i, tick)
        if tick.recv_ts > self.newest_ts:
            self.newest_ts = tick.recv_ts

    def at(self, pair_id: str, venue: str, outcome: str, ts: int) -> Tick | None:
        """The quote of the key as it stood at merge time ``ts`` (None: nothing quoted yet)."""
        key = (pair_id, venue, outcome)
        times = self._times.get(key)
        if times is None:
            return None
        i = bisect_right(times, ts)
        return self._ticks[key][i - 1] if i else None

    def prune(self, before_ts: int) -> int:
        """Forget ticks older than ``before_ts``, keeping each key's last one at or before it
        (still the book then); returns how many were dropped. For long live runs."""
        dropped = 0
        for key, times in self._times.items():
            i = bisect_right(times, before_ts) - 1
            if i > 0:
                del times[:i]
                del self._ticks[key][:i]
                dropped += i
        return dropped

    def __len__(self) -> int:
        return sum(len(t) for t in self._times.values())
