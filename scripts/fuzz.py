"""Run the download property test (tests/engine/test_properties.py) long, to hunt for bugs.

    python scripts/fuzz.py                      # 500 examples of each property test
    python scripts/fuzz.py -n 5000 --seed 7     # more, reproducibly
    python scripts/fuzz.py -k four              # only the -x 4 test (or: one, two_downloads)

CI runs a fixed set of a few dozen examples; this runs random ones. A failure prints the
shrunk scenario (a plan of server misbehaviour per request) and a @reproduce_failure blob.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/engine/test_properties.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--examples", type=int, default=500, help="examples per test")
    parser.add_argument("--seed", type=int, help="Hypothesis seed (default: random)")
    parser.add_argument("-k", dest="select", help="pytest -k expression")
    args = parser.parse_args()
    command = [sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:cacheprovider"]
    command += ["--hypothesis-show-statistics"]
    if args.seed is not None:
        command.append(f"--hypothesis-seed={args.seed}")
    if args.select:
        command += ["-k", args.select]
    env = dict(os.environ, AFETCH_FUZZ_EXAMPLES=str(args.examples))
    started = time.monotonic()
    code = subprocess.call(command, cwd=ROOT, env=env)
    print(
        f"fuzz: {args.examples} examples per test, {time.monotonic() - started:.1f} s", flush=True
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
