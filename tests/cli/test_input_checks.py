"""Bad input is caught where it is given: header bytes, BOMs, and what export can carry."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import afetch

from afetch_tui.engine.inputfile import parse_input
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.options import ManagerOptions
from afetch_tui.engine.store import Store


@pytest.mark.parametrize("value", ["a\x1b[2Jb", "a\x7fb", "a\x01b"])
def test_a_control_character_in_a_header_is_a_usage_error(server, tmp_path, value):
    url = server.add_file("/h.bin", b"x" * 100)
    result = afetch("--header", f"X-Test: {value}", url, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "control character" in result.stderr
    assert "Traceback" not in result.stderr
    assert server.requests_for("/h.bin") == []
    assert not list(tmp_path.iterdir())


def test_a_tab_and_obs_text_in_a_header_are_sent(server, tmp_path):
    url = server.add_file("/h.bin", b"x" * 100)
    result = afetch("--header", "X-Test: a\tcafé", url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert server.requests_for("/h.bin")[0].header("X-Test") == "a\tcafé"


def test_an_input_file_with_a_byte_order_mark_is_read(server, payload, tmp_path):
    data = payload(1000)
    url = server.add_file("/bom.bin", data)
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "list.txt").write_bytes(b"\xef\xbb\xbf" + url.encode() + b"\n  out=named.bin\n")
    result = afetch("-i", str(tmp_path / "list.txt"), cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "named.bin").read_bytes() == data
    stdin = afetch("-i", "-", "-o", "again.bin", cwd=work, stdin="\ufeff" + url + "\n")
    assert stdin.returncode == 0, stdin.stderr
    assert (work / "again.bin").read_bytes() == data


async def _queue_into(directory: Path, state: Path, url: str) -> None:
    store = await Store.open(state)
    manager = DownloadManager(directory, options=ManagerOptions(trust_env=False), store=store)
    await manager.start()
    await manager.add(url, paused=True)
    await manager.add(url.replace("/a", "/b"), paused=True, directory=directory.parent)
    await manager.close()
    await store.close()


def test_export_refuses_a_directory_with_a_line_break(server, tmp_path):
    evil = tmp_path / "x\n  header=Authorization: stolen\n  out=evil"
    state = tmp_path / "state.db"
    asyncio.run(_queue_into(evil, state, server.url("/a.bin")))
    result = subprocess.run(
        [sys.executable, "-m", "afetch_tui", "export", "--state", str(state)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "line break" in result.stderr and "Traceback" not in result.stderr
    entries = parse_input(result.stdout.split("\n"))
    assert [e.url for e in entries] == [server.url("/b.bin")]
    assert all(not e.headers and e.out is None for e in entries)
    assert "stolen" not in result.stdout
