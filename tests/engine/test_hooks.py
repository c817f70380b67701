"""``on_complete`` hooks: a real command per completed file, against the loopback server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_helpers import GUARD, MakeManager
from faultserver import FaultServer

from afetch_tui.engine.errors import InputError
from afetch_tui.engine.events import HookFinished, State
from afetch_tui.engine.hooks import parse_command
from afetch_tui.engine.manager import DownloadManager
from afetch_tui.engine.spec import DownloadSpec

HOOK = """
import json, os, sys, time
marker, mode = sys.argv[1], sys.argv[2]
if mode == "sleep":
    import subprocess
    subprocess.run([sys.executable, "-c", "import time; time.sleep(10)"])
with open(marker, "a") as out:
    out.write(json.dumps({"argv": sys.argv[3:], "url": os.environ.get("AFETCH_URL")}) + "\\n")
print("hello from the hook")
print("second line", file=sys.stderr)
sys.exit(3 if mode == "fail" else 0)
"""


@pytest.fixture
def hook(tmp_path: Path) -> Callable[[str], tuple[str, ...]]:
    """``hook(mode)``: a command that records its arguments in ``tmp_path/marker.jsonl``."""
    script = tmp_path / "hook.py"
    script.write_text(HOOK)

    def command(mode: str) -> tuple[str, ...]:
        return (sys.executable, str(script), str(tmp_path / "marker.jsonl"), mode)

    return command


def calls(tmp_path: Path) -> list[dict[str, object]]:
    marker = tmp_path / "marker.jsonl"
    if not marker.exists():
        return []
    return [json.loads(line) for line in marker.read_text().splitlines()]


def messages(manager: DownloadManager, download_id: int) -> list[str]:
    return [entry.message for entry in manager.download(download_id).log]


async def run_all(manager: DownloadManager, urls: list[str]) -> list[int]:
    ids = await manager.add_many(DownloadSpec(urls))
    await asyncio.wait_for(manager.wait(), GUARD)
    return ids


async def test_the_hook_runs_for_each_completed_file_with_its_path(
    server: FaultServer,
    make_manager: MakeManager,
    hook: Callable[[str], tuple[str, ...]],
    payload: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    manager = await make_manager(out, on_complete=hook("ok"))
    sub = manager.subscribe()
    urls = [server.add_file(f"/f{i}.bin", payload(1000 + i)) for i in range(3)]
    ids = await run_all(manager, [*urls, server.url("/missing.bin")])
    # wait() also waited for the hooks: every call is on disk already.
    recorded = sorted(calls(tmp_path), key=lambda call: str(call["argv"]))
    assert recorded == [{"argv": [str(out / f"f{i}.bin")], "url": urls[i]} for i in range(3)]
    first = messages(manager, ids[0])
    assert "on-complete | hello from the hook" in first
    assert "on-complete | second line" in first
    assert first[-1] == "on-complete: exited with 0"
    assert manager.download(ids[3]).state is State.FAILED  # no hook for a failed download
    finished = [e for e in sub.drain() if isinstance(e, HookFinished)]
    assert sorted(e.id for e in finished) == ids[:3]
    assert all(e.ok and e.exit_code == 0 for e in finished)
    assert manager.hook_failures == frozenset()


async def test_a_failing_hook_is_logged_and_reported_but_the_file_stays_completed(
    server: FaultServer,
    make_manager: MakeManager,
    hook: Callable[[str], tuple[str, ...]],
    payload: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    manager = await make_manager(on_complete=hook("fail"))
    sub = manager.subscribe()
    (download_id,) = await run_all(manager, [server.add_file("/x.bin", payload(5000))])
    snap = manager.download(download_id)
    assert snap.state is State.COMPLETED
    assert (tmp_path / "x.bin").exists()
    assert "on-complete: exited with 3" in messages(manager, download_id)
    (event,) = [e for e in sub.drain() if isinstance(e, HookFinished)]
    assert (event.ok, event.exit_code, event.message) == (False, 3, "exited with 3")
    assert manager.hook_failures == {download_id}


async def test_a_hook_past_its_timeout_is_killed_with_its_children(
    server: FaultServer,
    make_manager: MakeManager,
    hook: Callable[[str], tuple[str, ...]],
    payload: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    manager = await make_manager(on_complete=hook("sleep"), on_complete_timeout=0.5)
    started = time.monotonic()
    (download_id,) = await run_all(manager, [server.add_file("/slow.bin", payload(100))])
    assert time.monotonic() - started < 5  # not the 10 s the hook's child wanted
    assert "on-complete: timed out after 0.5 s; killed" in messages(manager, download_id)
    assert manager.download(download_id).state is State.COMPLETED
    assert manager.hook_failures == {download_id}
    assert calls(tmp_path) == []  # it never got past the sleep


async def test_a_server_chosen_name_full_of_shell_syntax_arrives_as_one_argument(
    server: FaultServer,
    make_manager: MakeManager,
    hook: Callable[[str], tuple[str, ...]],
    payload: Callable[..., bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    nasty = "a b; touch pwned1 && $(touch pwned2) `touch pwned3` 'q' | x.bin"
    url = server.add_file(
        "/dl", payload(3000), content_disposition=f"attachment; filename*=UTF-8''{quote(nasty)}"
    )
    manager = await make_manager(out, on_complete=hook("ok"))
    (download_id,) = await run_all(manager, [url])
    snap = manager.download(download_id)
    assert snap.state is State.COMPLETED, snap.error
    assert snap.path is not None and snap.path.exists()
    assert "$(touch pwned2)" in snap.path.name and ";" in snap.path.name
    assert calls(tmp_path) == [{"argv": [str(snap.path)], "url": url}]
    for directory in (tmp_path, out, Path.cwd()):
        assert not any(p.name.startswith("pwned") for p in directory.iterdir())


async def test_a_command_that_cannot_start_is_a_failed_hook(
    server: FaultServer, make_manager: MakeManager, payload: Callable[..., bytes], tmp_path: Path
) -> None:
    gone = tmp_path / "was-here"
    manager = await make_manager(on_complete=(str(gone),))
    (download_id,) = await run_all(manager, [server.add_file("/y.bin", payload(10))])
    assert any(m.startswith("on-complete: cannot run") for m in messages(manager, download_id))
    assert manager.hook_failures == {download_id}


async def test_closing_the_manager_kills_running_hooks(
    server: FaultServer,
    make_manager: MakeManager,
    hook: Callable[[str], tuple[str, ...]],
    payload: Callable[..., bytes],
) -> None:
    manager = await make_manager(on_complete=hook("sleep"), on_complete_timeout=30)
    await manager.add(server.add_file("/z.bin", payload(10)))
    await asyncio.sleep(0.5)
    started = time.monotonic()
    await asyncio.wait_for(manager.close(), GUARD)
    assert time.monotonic() - started < 3


def test_parse_command() -> None:
    assert parse_command("echo 'two words' x") == ("echo", "two words", "x")
    with pytest.raises(InputError, match="command not found: no-such-program-afetch"):
        parse_command("no-such-program-afetch --x")
    with pytest.raises(InputError, match="cannot split the command"):
        parse_command("echo 'unclosed")
    with pytest.raises(InputError, match="empty command"):
        parse_command("   ")
    with pytest.raises(InputError, match="not an executable file"):
        parse_command(os.devnull)


def quote(text: str) -> str:
    from urllib.parse import quote as url_quote

    return url_quote(text, safe="")


async def test_the_command_can_be_changed_while_running(
    server: FaultServer,
    make_manager: MakeManager,
    hook: Callable[[str], tuple[str, ...]],
    payload: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    manager = await make_manager()
    assert manager.on_complete == (None, 60.0)
    await run_all(manager, [server.add_file("/before.bin", payload(10))])
    manager.set_on_complete(hook("ok"), 5.0)
    assert manager.on_complete == (hook("ok"), 5.0)
    await run_all(manager, [server.add_file("/after.bin", payload(10))])
    assert calls(tmp_path) == [
        {"argv": [str(tmp_path / "after.bin")], "url": server.url("/after.bin")}
    ]
    with pytest.raises(InputError, match="timeout must be positive"):
        manager.set_on_complete(None, 0)
