"""Wall time of ``echoarb up --simulate`` until the first executable opportunity shows on the
board, seen in a real browser (Debian chromium via Playwright), from the moment the command
starts. Also reports when each part was ready.

    .venv/bin/python -m bench.up_first_opportunity [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench.common import save
from echoarb.kafka.processes import free_port

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


async def one_run() -> dict[str, Any]:
    from playwright.async_api import async_playwright

    port = free_port()
    data = tempfile.mkdtemp(prefix="echoarb-up-bench-")
    began = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "echoarb", "up", "--simulate", "--port", str(port), "--data-dir", data,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    ready: dict[str, float] = {}
    result: dict[str, Any] = {}
    try:
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), 300)).decode()
            if not line:
                raise RuntimeError("echoarb up exited early")
            _note(line, ready)
            if " ready  serve" in line:
                break
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = await browser.new_page()
            await page.goto(f"http://127.0.0.1:{port}/")
            result["page_loaded_s"] = round(time.monotonic() - began, 2)
            drain = asyncio.create_task(_drain(proc, ready, began))
            await page.wait_for_selector("#rows tr.exec", timeout=300_000)
            result["first_executable_on_board_s"] = round(time.monotonic() - began, 2)
            await browser.close()
            drain.cancel()
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 120)
        shutil.rmtree(data, ignore_errors=True)
    result["ready_s"] = ready
    result["loadavg_1m"] = round(os.getloadavg()[0], 1)
    return result


async def _drain(proc: Any, ready: dict[str, float], began: float) -> None:
    while line := (await proc.stdout.readline()).decode():
        _note(line, ready)


def _note(line: str, ready: dict[str, float]) -> None:
    """``ready  worker 1   http://...  (12.0s, log ...)``: seconds since the supervisor started."""
    m = re.search(r" ready  (\S+(?: \d+| \w+)?)\s.*\((\d+\.\d)s,", line)
    if m:
        ready[m.group(1).strip()] = float(m.group(2))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for i in range(args.runs):
        runs.append(asyncio.run(one_run()))
        print(f"run {i + 1}: first executable opportunity on the board after "
              f"{runs[-1]['first_executable_on_board_s']} s (ready: {runs[-1]['ready_s']}, "
              f"load {runs[-1]['loadavg_1m']})", flush=True)  # fmt: skip
    times = sorted(r["first_executable_on_board_s"] for r in runs)
    print(f"median {times[len(times) // 2]} s over {len(times)} runs")
    save("up_first_opportunity", {"runs": runs, "median_s": times[len(times) // 2]})


if __name__ == "__main__":
    main()
