"""Decode a topic record, or count it: the read-only consumers' one way past a bad record.

``echoarb serve`` and ``echoarb backtest --paper`` read topics as views: nothing to
dead-letter (the worker and the sink already do that for the pipeline), but a record that
does not decode must still be counted, never silently dropped. The first five and then every
1,000th are logged, so a topic full of foreign records says so without flooding the log.
"""

from __future__ import annotations

import logging
from typing import Any

from echoarb.wire.codec import AvroCodec, CodecError

LOG_FIRST = 5
LOG_EVERY = 1000


class Undecodable:
    """Counts the records a consumer could not decode (``count``) and logs a sample of them."""

    def __init__(self, log: logging.Logger) -> None:
        self.count = 0
        self._log = log

    def decode(self, codec: AvroCodec, value: bytes | None) -> dict[str, Any] | None:
        """The decoded record, or None when it does not decode (then counted and maybe logged)."""
        try:
            return codec.decode(value)
        except CodecError as exc:
            self.count += 1
            if self.count <= LOG_FIRST or self.count % LOG_EVERY == 0:
                self._log.warning("record does not decode (%d so far): %s", self.count, exc)
            return None
