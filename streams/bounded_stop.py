"""A Faust worker whose stop is bounded: SIGTERM ends the process within a grace period.

faust-streaming 0.15.3 (through mode and aiokafka) can hang for ever in shutdown when the
brokers are gone: the consumer's fetcher retries its fetch request in
``Fetcher._proc_fetch_request`` and ``AIOKafkaConsumer.stop`` awaits it, so the worker
ignores SIGTERM and a supervisor (compose, systemd, Kubernetes) has to SIGKILL it after its
own timeout. Here a watchdog thread starts when the stop begins and ends the process with
one log line after ``grace_s``; anything not yet committed is simply re-read after restart
(at-least-once), exactly as after a crash.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any

import faust

log = logging.getLogger("echoarb.worker")


class BoundedStopWorker(faust.Worker):
    """``faust.Worker`` plus a stop deadline; a clean stop that finishes in time is untouched."""

    def __init__(self, *args: Any, stop_grace_s: float = 10.0, **kwargs: Any) -> None:
        one_line_thread_crashes()
        super().__init__(*args, **kwargs)
        self._stop_grace_s = stop_grace_s
        self._watchdog: threading.Timer | None = None

    def _schedule_shutdown(self, signum: signal.Signals) -> None:
        if self._watchdog is None:
            # Stopping with the brokers gone kills Faust's consumer thread with aiokafka's
            # pending fetch error; Python would print that thread's traceback to stderr.
            threading.excepthook = _one_line_thread_death
            self._watchdog = threading.Timer(self._stop_grace_s, self._give_up, args=(signum,))
            self._watchdog.daemon = True
            self._watchdog.start()
        super()._schedule_shutdown(signum)

    def _give_up(self, signum: signal.Signals) -> None:
        # One line, flushed, then out: no traceback, no hung process. Uncommitted input is
        # re-consumed by whoever takes the partitions (at-least-once).
        print(
            f"echoarb: worker did not stop within {self._stop_grace_s:g}s of {signum.name} "
            "(brokers unreachable?); exiting without a final commit",
            file=sys.stderr,
            flush=True,
        )
        os._exit(128 + int(signum))


def _one_line_thread_death(args: threading.ExceptHookArgs) -> None:
    name = args.thread.name if args.thread is not None else "?"
    log.error("thread %s ended with %s: %s", name, args.exc_type.__name__, args.exc_value)
    log.debug("thread death", exc_info=args.exc_value)


def one_line_thread_crashes() -> None:
    """Make mode's ``ServiceThread.on_crash`` log one line instead of printing a traceback.

    When the brokers are gone, stopping Faust's consumer thread cancels aiokafka's pending
    fetch, and mode 0.4 reports that as a thread crash with ``traceback.print_exc`` straight
    to stderr. The crash is expected during such a stop; the line keeps what happened and
    the traceback stays available at DEBUG.
    """
    from mode.threads import ServiceThread

    if getattr(ServiceThread.on_crash, "_echoarb_one_line", False):
        return

    def on_crash(self: ServiceThread, msg: str, *fmt: Any, **kwargs: Any) -> None:
        exc = sys.exc_info()[1]
        log.error("%s (%s)", msg.format(*fmt), type(exc).__name__ if exc else "no exception")
        log.debug("thread crash", exc_info=exc)

    on_crash._echoarb_one_line = True  # type: ignore[attr-defined]
    ServiceThread.on_crash = on_crash  # type: ignore[method-assign]
