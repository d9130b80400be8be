"""Test-only entry point: ``echoarb sink`` that SIGKILLs itself right after an insert, before commit.

``SINK_CRASH_AFTER_INSERTS=N`` kills the process after its N-th successful insert (the rows are
in ClickHouse, the offsets are not committed): the worst moment for duplicates. Unset, it is
plain ``echoarb sink``. The hook lives here, not in the product, so no production setting can
make the sink kill itself.
"""

from __future__ import annotations

import os
import signal
import sys

from echoarb import cli
from echoarb.sink.batches import Batch
from echoarb.sink.service import SinkService


def main() -> int:
    crash_after = int(os.environ.get("SINK_CRASH_AFTER_INSERTS", "0"))
    inserts = 0

    def after_insert(self: SinkService, batch: Batch) -> None:
        nonlocal inserts
        inserts += 1
        print(f"inserted {batch.table} {batch.token} ({batch.row_count} rows)", file=sys.stderr, flush=True)
        if crash_after and inserts >= crash_after:
            print("crash: SIGKILL before commit", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    SinkService._after_insert = after_insert  # type: ignore[method-assign]
    return cli.main(["sink"])


if __name__ == "__main__":
    sys.exit(main())
