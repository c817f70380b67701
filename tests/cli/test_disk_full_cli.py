"""``afetch get`` on a full disk: the run is not complete (exit 1, one line), the ``.part``
is kept, and the same command finishes it once there is space. Uses a real, small tmpfs
(needs root to mount; skipped otherwise)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli import afetch

MIB = 1024 * 1024


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount_point
    finally:
        with contextlib.suppress(Exception):
            subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(path: Path, leave: int) -> None:
    """Fill the file system holding ``path`` but ``leave`` bytes (about)."""
    with contextlib.suppress(OSError), open(path, "wb") as out:
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    size = path.stat().st_size
    with open(path, "r+b") as out:
        out.truncate(max(0, size - leave))


def test_a_full_disk_ends_the_run_as_not_complete_and_the_rerun_resumes(
    server, payload, tiny_disk, tmp_path
):
    data = payload(6 * MIB, seed=5)
    url = server.add_file("/x.bin", data)
    filler = tiny_disk / "filler"
    _fill(filler, leave=2 * MIB)

    first = afetch("-d", str(tiny_disk), url, cwd=tmp_path)
    assert first.returncode == 1, first.stderr
    assert "Traceback" not in first.stderr
    lines = [line for line in first.stderr.splitlines() if "disk full" in line]
    assert len(lines) == 1, first.stderr
    assert lines[0].startswith("disk full writing x.bin: ")
    assert lines[0].endswith(
        " kept in x.bin.part; free space and run the same command to resume"
    ), lines[0]
    part = tiny_disk / "x.bin.part"
    assert part.exists() and part.stat().st_size > 0
    assert not (tiny_disk / "x.bin").exists()

    filler.unlink()
    server.clear_requests()
    second = afetch("-d", str(tiny_disk), url, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert (tiny_disk / "x.bin").read_bytes() == data
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["x.bin"]
    assert server.requests_for("/x.bin")[-1].header("Range")


def test_a_small_file_on_a_full_disk_leaves_no_empty_part(server, payload, tiny_disk, tmp_path):
    data = payload(200_000, seed=6)
    url = server.add_file("/small.bin", data)
    filler = tiny_disk / "filler"
    _fill(filler, leave=0)

    first = afetch("-d", str(tiny_disk), url, cwd=tmp_path)
    assert first.returncode == 1, first.stderr
    assert "Traceback" not in first.stderr
    assert sum("disk full writing small.bin" in line for line in first.stderr.splitlines()) == 1
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler"]  # no orphan .part

    filler.unlink()
    second = afetch("-d", str(tiny_disk), url, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["small.bin"]
    assert (tiny_disk / "small.bin").read_bytes() == data
