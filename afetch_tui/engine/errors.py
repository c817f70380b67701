"""The engine's exception tree, rooted in one base class.

Every message is one human line, fit to show a user as is.
"""

from __future__ import annotations

from afetch_tui.engine.display import inert


class AfetchError(Exception):
    """Base of every error the engine raises on purpose.

    Its text may quote a server or a URL, so ``str()`` gives it `inert`, fit to show.
    """

    def __str__(self) -> str:
        return inert(super().__str__())


class InputError(AfetchError):
    """Bad user input: a URL, a directory, an option value. Nothing was queued or written.

    One about a setting (`of`) keeps its name and the rule it breaks apart, so each front
    end names the setting in its own words: the command line by its flag.
    """

    def __init__(self, message: str, *, setting: str | None = None, rule: str = "") -> None:
        super().__init__(message)
        self.setting = setting
        """The field (of `Limits`, `Defaults`) the value was for, if any."""
        self.rule = rule
        """What the value must be, e.g. ``must be 1 to 16``."""

    @classmethod
    def of(cls, setting: str, rule: str, *, label: str | None = None) -> InputError:
        """``setting``'s value breaks ``rule``; the message says it with ``label``."""
        return cls(f"{label or setting.replace('_', ' ')} {rule}", setting=setting, rule=rule)


class PageError(InputError):
    """A page to harvest links from cannot be used: unreachable, an error, not HTML, too big."""


class StoreError(AfetchError):
    """The persistent store cannot be opened or used."""


class StoreBusy(StoreError):
    """Another afetch holds the state file: process ``pid`` (None if it did not say)."""

    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


class DownloadError(AfetchError):
    """One attempt at a download failed.

    ``retryable`` says whether another attempt may succeed; ``retry_after`` is the
    server's own wish in seconds (Retry-After), when it gave one; ``restart`` asks the
    next attempt to start again from byte zero because the bytes on disk can no longer
    be trusted to belong to the entity the server now serves. ``pause`` says the download
    should wait for the user (a full disk) rather than fail. ``backpressure`` says the
    machine, not the download, ran short (out of file descriptors): run fewer at once and
    try again later, without counting it against the download's retries.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        restart: bool = False,
        status: int | None = None,
        host_pushback: bool = False,
        pause: bool = False,
        backpressure: bool = False,
    ) -> None:
        message = inert(message)  # shown, logged and stored: a server wrote part of it
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.restart = restart
        self.status = status
        self.host_pushback = host_pushback
        self.pause = pause
        self.backpressure = backpressure

    def __str__(self) -> str:
        return inert(self.message)
