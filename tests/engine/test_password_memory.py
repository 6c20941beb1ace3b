"""One password check's memory at a time per process, whichever thread checks (engine/accounts/passwords.py).

Run in a fresh interpreter with the production parameters: four live threads check a password, one at a
time, and the process's peak (VmHWM) may grow by about one check's 12 MiB, not one per thread (glibc kept
each thread's block on its own heap before the mmap threshold was fixed: four threads, four blocks)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import threading
from engine.accounts import passwords

def peak():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024

stored = passwords.hash_password("the-password")
before = peak()
threads = [threading.Thread(target=passwords.check_password, args=(stored, "wrong")) for _ in range(4)]
for thread in threads:   # alive together, as a gthread worker's are; the checks take turns
    thread.start()
for thread in threads:
    thread.join()
print(before, peak())
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists() or sys.platform != "linux", reason="reads /proc")
def test_password_checks_on_four_threads_peak_at_one_checks_memory():
    before, after = map(float, subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, check=True,
                                              capture_output=True, text=True).stdout.split())
    assert after - before < 12 * 1.5, (before, after)
