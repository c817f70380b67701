"""``--on-complete``'s command as the user gave it, checked before anything runs.

Apart from `hooks` (which runs the command, with asyncio) so that the command line checks
it without loading asyncio: a usage error answers in a few ms.
"""

from __future__ import annotations

import os
import shlex
import shutil

from afetch_tui.engine.errors import InputError


def parse_command(text: str) -> tuple[str, ...]:
    """``text`` split as a shell would split it, checked to name a program we can run."""
    try:
        argv = tuple(shlex.split(text))
    except ValueError as exc:
        raise InputError(f"--on-complete: cannot split the command: {exc}") from None
    if not argv:
        raise InputError("--on-complete: empty command")
    program = argv[0]
    if os.sep in program:
        if not os.access(program, os.X_OK) or os.path.isdir(program):
            raise InputError(f"--on-complete: not an executable file: {program}")
    elif shutil.which(program) is None:
        raise InputError(f"--on-complete: command not found: {program}")
    return argv
