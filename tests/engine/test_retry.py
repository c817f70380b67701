"""Failure rules against a real server: what fails at once, what is retried, how long
the engine waits, and how it gives up."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from afetch_tui.engine.events import State
from afetch_tui.engine.name_rules import PART_SUFFIX

KIB = 1024
MIB = 1024 * KIB


def host(server) -> str:
    return f"127.0.0.1:{server.port}"


def gets(server, path: str):
    return server.requests_for(path, "GET")


def assert_exact(directory: Path, name: str, expected: bytes) -> None:
    assert (directory / name).read_bytes() == expected
    assert not list(directory.glob(f"*{PART_SUFFIX}"))


# ------------------------------------------------------------------ fatal statuses


@pytest.mark.parametrize(("status", "reason"), [(404, "Not Found"), (403, "Forbidden")])
async def test_client_error_fails_at_once(server, manager, fetch, tmp_path, status, reason):
    url = server.add_status("/missing.bin", status)

    snap = await fetch(manager, url)

    assert snap.state is State.FAILED
    assert snap.error == f"{status} {reason} from {host(server)}"
    assert snap.retries == 0
    assert len(server.requests_for("/missing.bin")) == 1
    assert list(tmp_path.iterdir()) == []


async def test_unknown_path_is_404(server, manager, fetch, tmp_path):
    snap = await fetch(manager, server.url("/nowhere/file.iso"))

    assert snap.state is State.FAILED
    assert snap.error == f"404 Not Found from {host(server)}"
    assert [r.status for r in server.requests_for("/nowhere/file.iso")] == [404]
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------- retryable statuses


async def test_server_errors_then_success(server, payload, manager, fetch, tmp_path):
    data = payload(200 * KIB, seed=21)
    url = server.add_file("/flaky.bin", data, statuses=[500, 502, 503])

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.error is None
    assert snap.retries == 3
    assert_exact(tmp_path, "flaky.bin", data)
    assert [r.status for r in gets(server, "/flaky.bin")] == [500, 502, 503, 200]
    (stats,) = manager.hosts()
    assert stats.retries == 3
    assert stats.status_5xx == 3


async def test_retry_after_is_honoured(server, payload, manager, fetch, tmp_path):
    data = payload(30 * KIB, seed=22)
    url = server.add_file("/busy.bin", data, statuses=[503], retry_after="1")

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert_exact(tmp_path, "busy.bin", data)
    first, second = gets(server, "/busy.bin")
    assert first.status == 503
    assert second.status == 200
    assert second.started - first.started >= 0.95


async def test_retries_exhausted(server, make_manager, fetch, tmp_path):
    manager = await make_manager(retries=2)
    url = server.add_status("/down.bin", 500)

    snap = await fetch(manager, url)

    assert snap.state is State.FAILED
    assert snap.retries == 2
    assert snap.error is not None
    assert snap.error.startswith(f"500 Internal Server Error from {host(server)}")
    assert snap.error.endswith("(gave up after 2 retries)")
    assert len(server.requests_for("/down.bin")) == 3
    assert list(tmp_path.iterdir()) == []


async def test_connection_refused_is_retried_then_fails(make_manager, fetch, tmp_path, closed_port):
    port = closed_port
    manager = await make_manager(retries=1)

    snap = await fetch(manager, f"http://127.0.0.1:{port}/x.bin")

    assert snap.state is State.FAILED
    assert snap.error is not None
    assert snap.error.startswith(f"cannot connect to 127.0.0.1:{port}")
    assert "gave up after 1 retry" in snap.error
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------- redirects


async def test_redirect_loop_fails_quickly(server, manager, fetch, tmp_path):
    url = server.add_redirect("/loop/a", "/loop/b")
    server.add_redirect("/loop/b", "/loop/a")

    began = time.monotonic()
    snap = await fetch(manager, url)

    assert time.monotonic() - began < 3
    assert snap.state is State.FAILED
    assert snap.error is not None
    assert "redirect" in snap.error
    assert snap.retries == 0
    hops = len(server.requests_for("/loop/a")) + len(server.requests_for("/loop/b"))
    assert manager.options.max_redirects <= hops <= manager.options.max_redirects + 1
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------- stalls


@pytest.mark.parametrize("size", [200 * KIB, 1 * MIB], ids=["small", "large"])
async def test_stall_once_is_retried(server, payload, make_manager, fetch, tmp_path, size):
    manager = await make_manager(timeout=0.5)
    data = payload(size, seed=23)
    url = server.add_file("/stall.bin", data, stall_after=100 * KIB, stall_times=1)

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.retries == 1
    assert any("stalled" in entry.message for entry in snap.log)
    assert_exact(tmp_path, "stall.bin", data)
    first, second = gets(server, "/stall.bin")
    assert "stall" in first.faults
    assert second.status in (200, 206)
    assert second.started - first.started >= 0.45


async def test_stall_every_time_fails(server, payload, make_manager, fetch, tmp_path):
    manager = await make_manager(timeout=0.5, retries=1)
    url = server.add_file("/dead.bin", payload(1 * MIB, seed=24), stall_after=100 * KIB)

    snap = await fetch(manager, url)

    assert snap.state is State.FAILED
    assert snap.error is not None
    assert "stalled" in snap.error
    assert "gave up after 1 retry" in snap.error
    assert len(gets(server, "/dead.bin")) == 2
    assert not (tmp_path / "dead.bin").exists()


async def test_slow_headers_count_as_a_stall(server, payload, make_manager, fetch, tmp_path):
    manager = await make_manager(timeout=0.5)
    data = payload(20 * KIB, seed=25)
    url = server.add_file("/late.bin", data, delay=3, delay_times=1)

    snap = await fetch(manager, url)

    assert snap.state is State.COMPLETED, snap.error
    assert snap.retries == 1
    assert_exact(tmp_path, "late.bin", data)
    assert [r.status for r in gets(server, "/late.bin")][-1] == 200
