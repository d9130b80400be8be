"""Child processes EchoArb starts itself (the embedded broker, Faust workers).

Every child is started through :func:`spawn`, which ties its life to ours: on Linux the
kernel sends it SIGKILL when the parent dies (``PR_SET_PDEATHSIG``), so a parent killed with
SIGKILL or by the OOM killer leaves no Tansu broker or worker behind. Tansu does not exit
when its parent dies and nothing it holds (memory-only storage) needs a graceful stop.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

_PR_SET_PDEATHSIG = 1


def _parent_death_signal(parent_pid: int, sig: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that asks the kernel for ``sig`` when the parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    libc_name = ctypes.util.find_library("c") or "libc.so.6"

    def preexec() -> None:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        # The parent may have died between fork and prctl: then nobody will signal us.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


def spawn(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdout: IO[Any] | int | None = None,
    stderr: IO[Any] | int | None = None,
    cwd: str | None = None,
    die_with_parent: bool = True,
    new_session: bool = False,
) -> subprocess.Popen[bytes]:
    """Start a child whose life is bound to this process (SIGKILL when we die, on Linux).

    The parent-death signal is tied to the thread that forks: children are started from the
    main thread (asyncio loops run there), which lives as long as the process.
    ``new_session``: the child leaves the terminal's process group, so a Ctrl-C reaches only
    the parent, which then stops its children in its own order (``echoarb up``).
    """
    preexec = _parent_death_signal(os.getpid(), signal.SIGKILL) if die_with_parent else None
    return subprocess.Popen(
        list(args),
        env=dict(env) if env is not None else None,
        stdout=stdout,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        preexec_fn=preexec,
        start_new_session=new_session,
    )


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (the caller binds it soon after)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds: neither child outlives a stop."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
