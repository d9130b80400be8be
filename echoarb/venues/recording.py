"""Recordings: JSON Lines of venue frames exactly as received, one frame per line.

A line is ``{"venue": ..., "recv_ts": <epoch ms>, "frame": "<text frame>"}``; REST bodies
(Manifold) add ``"source": "rest"`` and the request ``"path"``. Frames are kept as the
venue's exact text so a replay runs the very parsers a live connector feeds, including on
frames they must reject. Lines are in receive order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

SOURCES = ("ws", "rest")


class RecordingError(ValueError):
    """A recording line is unreadable; the message starts with ``path:lineno:``."""


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    """One received frame. ``source`` is "ws" or "rest"; ``path`` is the REST request path."""

    venue: str
    recv_ts: int
    frame: str
    source: str = "ws"
    path: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The line's object: ``source``/``path`` only when they carry information."""
        out: dict[str, Any] = {"venue": self.venue, "recv_ts": self.recv_ts, "frame": self.frame}
        if self.source != "ws":
            out["source"] = self.source
        if self.path is not None:
            out["path"] = self.path
        return out


def parse_line(text: str) -> RecordedFrame:
    """One recording line to a frame; raises ``ValueError`` saying what is wrong (no location)."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    venue = obj.get("venue")
    if not isinstance(venue, str) or not venue:
        raise ValueError("field 'venue' must be a non-empty string")
    recv_ts = obj.get("recv_ts")
    if not isinstance(recv_ts, int) or isinstance(recv_ts, bool) or recv_ts < 0:
        raise ValueError(f"field 'recv_ts' must be a non-negative integer (epoch ms), got {recv_ts!r}")
    frame = obj.get("frame")
    if not isinstance(frame, str):
        raise ValueError("field 'frame' must be a string")
    source = obj.get("source", "ws")
    if source not in SOURCES:
        raise ValueError(f"field 'source' must be one of {list(SOURCES)}, got {source!r}")
    path = obj.get("path")
    if path is not None and not isinstance(path, str):
        raise ValueError("field 'path' must be a string")
    return RecordedFrame(venue, recv_ts, frame, source, path)


def read_recording(
    path: Path | str, on_bad: Callable[[RecordingError], None] | None = None
) -> Iterator[RecordedFrame]:
    """Yield the frames of a recording lazily (recordings can be large); blank lines are skipped.

    A bad line raises :class:`RecordingError` naming the file and line, so a hand-edited
    fixture is easy to fix; with ``on_bad`` the error is handed to it and the line skipped.
    """
    with open(path, "rb") as fp:
        for lineno, raw in enumerate(fp, start=1):
            if not raw.strip():
                continue
            try:
                frame = parse_line(raw.decode("utf-8"))  # UnicodeDecodeError is a ValueError
            except ValueError as exc:
                error = RecordingError(f"{path}:{lineno}: {exc}")
                if on_bad is None:
                    raise error from None
                on_bad(error)
                continue
            yield frame


def check_recording(path: Path | str) -> tuple[int, list[RecordingError]]:
    """Read the whole recording once: the number of good frames and every bad line.

    Run before a replay starts anything, so that a bad line costs one message, not a
    half-started pipeline.
    """
    bad: list[RecordingError] = []
    good = sum(1 for _ in read_recording(path, on_bad=bad.append))
    return good, bad


def write_frame(fp: IO[str], frame: RecordedFrame) -> None:
    """Append one compact JSON line; the text frame is kept verbatim (non-ASCII unescaped)."""
    fp.write(json.dumps(frame.to_json(), ensure_ascii=False, separators=(",", ":")))
    fp.write("\n")


class RecordingWriter:
    """Writes a recording file line by line; use as a context manager so the file is closed.

    Frames are written in the order given: callers record in receive order.
    """

    def __init__(self, path: Path | str, *, append: bool = False) -> None:
        self.path = Path(path)
        self.count = 0
        self._fp: IO[str] | None = None
        self._mode = "a" if append else "w"

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fp = open(self.path, self._mode, encoding="utf-8", newline="\n")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, frame: RecordedFrame) -> None:
        if self._fp is None:
            raise RuntimeError("RecordingWriter is not open (use it in a 'with' block)")
        write_frame(self._fp, frame)
        self.count += 1

    def flush(self) -> None:
        if self._fp is not None:
            self._fp.flush()

    def close(self) -> None:
        if self._fp is not None:
            self._fp.close()
            self._fp = None
