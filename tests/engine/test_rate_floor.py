"""Rates so small they would wait for ever are refused where every front end meets them."""

from __future__ import annotations

import pytest

from afetch_tui.engine.errors import InputError
from afetch_tui.engine.events import Limits
from afetch_tui.engine.limits import parse_size


@pytest.mark.parametrize(
    "limits",
    [{"rate": 0.0000001}, {"rate_per_host": 0.5}, {"host_request_rate": 1e-300}],
)
def test_limits_far_below_one_per_second_are_refused(limits):
    with pytest.raises(InputError, match="must be at least"):
        Limits(**limits)


def test_usable_small_limits_are_kept():
    assert Limits(rate=1.0, host_request_rate=0.001).rate == 1.0


@pytest.mark.parametrize("text", ["0.0000001", "0.5", "0.9B"])
def test_sizes_below_a_byte_are_refused(text):
    with pytest.raises(InputError, match="below 1 byte"):
        parse_size(text)


async def test_a_download_or_host_cap_below_one_byte_a_second_is_refused(manager):
    with pytest.raises(InputError, match="at least 1 B/s"):
        await manager.add("http://127.0.0.1:9/x", limit_rate=1e-300)
    with pytest.raises(InputError, match="at least 1 B/s"):
        await manager.set_host_limit("127.0.0.1:9", 0.5)
