"""A rerun with a new signature in the query (expiring CDN links) takes up the stored
download of the same path: its ``.part`` is revalidated and resumed, not orphaned."""

from __future__ import annotations

import json
import signal

from test_crash import _get, _wait_for_size

MIB = 1024 * 1024


def test_a_new_query_resumes_the_same_path(server, payload, tmp_path):
    data = payload(8 * MIB, seed=11)
    base = server.add_file("/f.iso", data, rate=4 * MIB)
    out, state = tmp_path / "out", tmp_path / "state.db"

    first = _get(f"{base}?sig=1", out, state)
    _wait_for_size(out / "f.iso.part", 2 * MIB, first, timeout=30)
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=10) == 130
    server.clear_requests()

    second = _get(f"{base}?sig=2", out, state, "--json")
    stdout, err = second.communicate(timeout=60)
    assert second.returncode == 0, err.decode()
    assert sorted(p.name for p in out.iterdir()) == ["f.iso"]
    assert (out / "f.iso").read_bytes() == data
    (resume,) = server.requests_for("/f.iso")
    assert resume.header("Range") and resume.header("If-Range")
    assert resume.bytes_sent < 7 * MIB
    events = [json.loads(line) for line in stdout.decode().splitlines()]
    (added,) = [e["download"] for e in events if e["event"] == "added"]
    assert added["url"] == f"{base}?sig=2" and added["done"] >= 2 * MIB


def test_a_different_path_is_not_taken_up(server, payload, tmp_path):
    data = payload(4 * MIB, seed=12)
    first_url = server.add_file("/a/f.iso", data, rate=4 * MIB)
    other = server.add_file("/b/f.iso", data)
    out, state = tmp_path / "out", tmp_path / "state.db"
    first = _get(first_url, out, state)
    _wait_for_size(out / "f.iso.part", MIB, first, timeout=30)
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=10) == 130

    second = _get(other, out, state)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err.decode()
    assert sorted(p.name for p in out.iterdir()) == ["f (1).iso", "f.iso.part"]
