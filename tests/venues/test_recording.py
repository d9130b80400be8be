"""Recording files: the JSON Lines format every replay and fixture depends on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from echoarb.venues.recording import (
    RecordedFrame,
    RecordingError,
    RecordingWriter,
    read_recording,
    write_frame,
)

FRAMES = [
    RecordedFrame("kalshi", 1767225600000, '{"type":"subscribed","msg":{"sid":1}}'),
    RecordedFrame("manifold", 1767225600005, '{"id":"abc","probability":0.62}', "rest", "/slug/x"),
    RecordedFrame("polymarket", 1767225600005, "PONG"),
    RecordedFrame("polymarket", 1767225600009, 'not json at all \u00e9 "quoted"\n'),
]


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with RecordingWriter(path) as writer:
        for frame in FRAMES:
            writer.write(frame)
    assert writer.count == len(FRAMES)
    assert list(read_recording(path)) == FRAMES
    assert len(path.read_text(encoding="utf-8").splitlines()) == len(FRAMES)


def test_write_frame_is_compact_and_omits_ws_defaults(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with open(path, "w", encoding="utf-8") as fp:
        write_frame(fp, FRAMES[0])
        write_frame(fp, FRAMES[1])
    ws, rest = path.read_text(encoding="utf-8").splitlines()
    frame = '"{\\"type\\":\\"subscribed\\",\\"msg\\":{\\"sid\\":1}}"'
    assert ws == '{"venue":"kalshi","recv_ts":1767225600000,"frame":' + frame + "}"
    assert json.loads(rest) == {
        "venue": "manifold",
        "recv_ts": 1767225600005,
        "frame": '{"id":"abc","probability":0.62}',
        "source": "rest",
        "path": "/slug/x",
    }


def test_writer_append_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with RecordingWriter(path) as writer:
        writer.write(FRAMES[0])
    with open(path, "a", encoding="utf-8") as fp:
        fp.write("\n")
    with RecordingWriter(path, append=True) as writer:
        writer.write(FRAMES[2])
    assert list(read_recording(path)) == [FRAMES[0], FRAMES[2]]


def test_writer_outside_with_block_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        RecordingWriter(tmp_path / "x.jsonl").write(FRAMES[0])


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"recv_ts": 1, "frame": "x"}', "venue"),
        ('{"venue": "kalshi", "recv_ts": "1", "frame": "x"}', "recv_ts"),
        ('{"venue": "kalshi", "recv_ts": true, "frame": "x"}', "recv_ts"),
        ('{"venue": "kalshi", "recv_ts": 1, "frame": {"type": "x"}}', "frame"),
        ('{"venue": "kalshi", "recv_ts": 1, "frame": "x", "source": "udp"}', "source"),
        ('{"venue": "kalshi", "recv_ts": 1, "frame": "x", "path": 3}', "path"),
    ],
)
def test_bad_line_names_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "bad.jsonl"
    good = '{"venue":"kalshi","recv_ts":1,"frame":"{}"}'
    path.write_text(f"{good}\n\n{good}\n{line}\n{good}\n", encoding="utf-8")
    frames = read_recording(path)
    assert next(frames).recv_ts == 1
    assert next(frames).recv_ts == 1
    with pytest.raises(RecordingError, match=rf"^{re.escape(str(path))}:4: .*{reason}"):
        next(frames)
