"""The spool file: appends, torn last lines, metadata."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from akita_daemon.spool import (
    BufferFull,
    SpoolWriter,
    TraceSpool,
    read_witnesses,
    write_json_atomically,
)


def test_open_cuts_a_torn_last_line_and_counts_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "witnesses.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c": ')
    spool = TraceSpool(tmp_path)

    spool.open()
    spool.append(b'{"d": 4}\n', 1)
    spool.close()

    assert spool.lines == 3
    assert path.read_bytes() == b'{"a": 1}\n{"b": 2}\n{"d": 4}\n'


def test_reading_skips_bad_and_torn_lines(tmp_path: Path) -> None:
    path = tmp_path / "witnesses.jsonl"
    path.write_bytes(b'{"a": 1}\nnot json\n[1]\n{"b": 2}\n{"c": 3')

    assert list(read_witnesses(path)) == [{"a": 1}, {"b": 2}]


def test_the_writer_group_commits_and_refuses_what_does_not_fit(
    tmp_path: Path,
) -> None:
    spool = TraceSpool(tmp_path)
    spool.open()
    writer = SpoolWriter(spool, capacity=10)

    async def scenario() -> int:
        await asyncio.gather(
            writer.write(b'{"n": 0}\n{"n": 1}\n', 2),
            writer.write(b'{"n": 2}\n{"n": 3}\n', 2),
        )
        with pytest.raises(BufferFull) as refused:
            await writer.write(b"{}\n" * 11, 11)
        return refused.value.dropped

    dropped = asyncio.run(scenario())
    spool.close()

    assert dropped == 11
    assert writer.pending == 0
    assert [w["n"] for w in read_witnesses(spool.path)] == [0, 1, 2, 3]


def test_metadata_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "trace.json"

    write_json_atomically(path, {"state": "active"})
    write_json_atomically(path, {"state": "done"})

    assert json.loads(path.read_text()) == {"state": "done"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trace.json"]
