"""Exit codes and the usage error: what the command line needs before anything heavy loads.

`afetch --version`, `--help` and a bad option are answered from here and argparse alone
(no aiohttp, no engine), so they take no longer than Python's own start-up.
"""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad command line: one line for the user, exit code 2."""
