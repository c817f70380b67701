"""`afetch_tui.engine` lists its public API in ``__all__`` and loads each name lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys

import afetch_tui.engine as engine


def test_every_public_name_is_the_one_its_module_defines() -> None:
    assert sorted(engine.__all__) == sorted(engine._MODULE_OF)
    for name in engine.__all__:
        module = importlib.import_module(f"afetch_tui.engine.{engine._MODULE_OF[name]}")
        assert getattr(engine, name) is getattr(module, name), name


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        engine.no_such_name  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("no AttributeError")


def test_a_light_name_loads_no_network_stack() -> None:
    """What the socket commands import from the package costs only its own module."""
    code = (
        "import sys\n"
        "from afetch_tui.engine import InputError, State, parse_size\n"
        "print('aiohttp' in sys.modules, 'afetch_tui.engine.manager' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "False"]
