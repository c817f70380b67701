"""The page parser's deadlines count parsing, not the child's start: on a loaded machine a
Python child may take a second or more to start and import its parser, and a small valid
page must not then be called too deeply nested to read."""

from __future__ import annotations

import os
import time

import pytest

from afetch_tui.engine.links import parse_page

LISTING = b'<a href="a.iso">a</a> <a href="b.iso">b</a>'
START = 1.0
"""Seconds the child takes to start here (a sitecustomize that sleeps)."""


@pytest.fixture
def slow_start(tmp_path, monkeypatch):
    """Every Python child started from now on takes `START` seconds before it runs."""
    (tmp_path / "sitecustomize.py").write_text(f"import time\ntime.sleep({START})\n")
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), path])))


async def test_a_slow_start_is_not_parse_time(slow_start):
    began = time.monotonic()
    links = await parse_page(LISTING, "http://h/dir/", time_limit=0.5, total_limit=0.8)
    assert time.monotonic() - began >= START  # the child did start slowly
    assert [link.url for link in links] == ["http://h/dir/a.iso", "http://h/dir/b.iso"]


PAUSE = 1.0
"""Seconds the child is stopped (SIGSTOP) once its deadline has started."""


@pytest.fixture
def descheduled(tmp_path, monkeypatch):
    """Every Python child started from now on stops for `PAUSE` seconds as soon as it sets
    its first timer, as a child on a loaded machine waits for a core: time passes, but the
    child runs none of it."""
    (tmp_path / "sitecustomize.py").write_text(
        f"""\
import os, signal, subprocess
_setitimer, _stopped = signal.setitimer, []
def setitimer(which, seconds, interval=0.0):
    old = _setitimer(which, seconds, interval)
    if seconds and not _stopped:
        _stopped.append(True)
        subprocess.Popen(["/bin/sh", "-c", "sleep {PAUSE}; kill -CONT {{}}".format(os.getpid())])
        os.kill(os.getpid(), signal.SIGSTOP)
    return old
signal.setitimer = setitimer
"""
    )
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), path])))


async def test_time_the_parser_does_not_run_is_not_parse_time(descheduled):
    """The deadlines count the CPU time the child spends parsing, not the time it waits:
    on a loaded machine a page that parses in milliseconds must not be called too deeply
    nested or too full of links."""
    began = time.monotonic()
    links = await parse_page(LISTING, "http://h/dir/", time_limit=0.5, total_limit=0.8)
    assert time.monotonic() - began >= PAUSE  # the child was stopped
    assert [link.url for link in links] == ["http://h/dir/a.iso", "http://h/dir/b.iso"]
