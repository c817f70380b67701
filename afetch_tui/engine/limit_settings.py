"""The limits in force: the manager-wide `Limits`, each host's own cap, the global bucket.

Applied to the hosts and the scheduler when they change, and saved in (and restored from)
the store's settings, so a restart keeps them.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any

from afetch_tui.engine.errors import InputError
from afetch_tui.engine.events import Limits
from afetch_tui.engine.hosts import Host
from afetch_tui.engine.limits import MIN_RATE, TokenBucket
from afetch_tui.engine.scheduler import Scheduler


def check_rate(rate: float | None, whose: str) -> None:
    """Refuse a rate cap below 1 B/s or infinite (None, no cap, is fine)."""
    if rate is not None and not MIN_RATE <= rate < math.inf:
        raise InputError(f"{whose} rate limit must be at least 1 B/s (and finite)")


class LimitSettings:
    """The manager's limits, per-host caps and global bucket, and the hosts they apply to."""

    def __init__(
        self, scheduler: Scheduler, *, given: bool, changes: Mapping[str, Any] | None = None
    ) -> None:
        """``given``: the limits were passed in, so the stored ones do not replace them;
        ``changes``: `Limits` fields set over the stored ones (the command line's ``-j``)
        before anything starts, or more than the new limit would run at once."""
        self._changes = dict(changes or {})
        if self._changes:
            scheduler.limits = replace(scheduler.limits, **self._changes)
        self._scheduler = scheduler
        self.hosts: dict[str, Host] = scheduler.hosts
        self.given = given
        self.overrides: dict[str, float | None] = {}
        """Each host's own bandwidth cap (None: unlimited for that host)."""
        self.bucket = TokenBucket(scheduler.limits.rate)
        """Every download's bytes pass this one: the manager-wide rate cap."""

    @property
    def limits(self) -> Limits:
        return self._scheduler.limits

    def host(self, name: str) -> Host:
        """The host called ``name``, made (with the limits in force) on first use."""
        host = self.hosts.get(name)
        fresh = host is None
        if host is None:
            host = self.hosts[name] = Host(name, time.monotonic())
        if name in self.overrides:
            host.has_override = True
            host.limit_override = self.overrides[name]
        if fresh:
            host.apply_limits(self.limits)
        return host

    def apply(self, limits: Limits) -> None:
        """New manager-wide limits, for every host and the scheduler."""
        self._scheduler.limits = limits
        self.bucket.rate = limits.rate
        for host in self.hosts.values():
            host.apply_limits(limits)
        self._scheduler.hosts_changed()

    def set_host(self, name: str, rate: float | None) -> Host:
        """Give host ``name`` its own cap (None: unlimited); returns the host."""
        check_rate(rate, "a host's")
        self.overrides[name] = rate
        host = self.host(name)
        host.apply_limits(self.limits)
        return host

    def saved(self) -> dict[str, Any]:
        """What the store keeps of these (see `restore`)."""
        return {"limits": asdict(self.limits), "host_limits": self.overrides}

    def restore(self, settings: Mapping[str, Any]) -> None:
        """Take up what `saved` kept, before any host is made: the limits unless they were
        given (a bad stored value is ignored), and the host caps."""
        if not self.given and "limits" in settings:
            with contextlib.suppress(TypeError, InputError):
                limits = Limits(**settings["limits"])
                self._scheduler.limits = replace(limits, **self._changes)
                self.bucket.rate = self.limits.rate
        self.overrides.update(settings.get("host_limits", {}))

    @property
    def changed(self) -> bool:
        """Whether `Limits` fields were set over the stored ones (to be saved in turn)."""
        return bool(self._changes)
