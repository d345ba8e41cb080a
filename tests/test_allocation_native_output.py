"""Native prints during a solve never reach stdout (they would corrupt --json output)."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import ctypes, sys
from matching.allocation.native_output import stdout_to_stderr
libc = ctypes.CDLL(None)
print("before", flush=True)
with stdout_to_stderr():
    libc.printf(b"native noise\\n")
    with stdout_to_stderr():
        libc.printf(b"nested noise\\n")
print("after", flush=True)
"""


def test_native_writes_go_to_stderr_and_stdout_comes_back() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert done.stdout.split() == ["before", "after"]
    assert "native noise" in done.stderr
    assert "nested noise" in done.stderr
