"""Summarise py-spy collapsed stacks (``-f raw``): top functions by self and inclusive samples."""

from __future__ import annotations

import sys
from collections import Counter


def summarise(path: str, top: int = 25, needle: str = "") -> str:
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    with open(path, encoding="utf-8", errors="replace") as fp:
        lines = fp.read().splitlines()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    out = [f"total samples {total}", "-- self --"]
    out += [f"{100 * c / total:5.1f}%  {f}" for f, c in own.most_common(top)]
    out.append("-- inclusive --")
    out += [f"{100 * c / total:5.1f}%  {f}" for f, c in incl.most_common(top * 3) if needle in f][:top]
    return "\n".join(out)


if __name__ == "__main__":
    print(
        summarise(
            sys.argv[1],
            int(sys.argv[2]) if len(sys.argv) > 2 else 25,
            sys.argv[3] if len(sys.argv) > 3 else "",
        )
    )
