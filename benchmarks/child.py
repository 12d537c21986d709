"""Run one benchmark job in a child process: its wall time, its own peak memory and its output.

A child per job keeps each measurement's peak RSS its own (``os.wait4``) and its thread count
fixed (``OMP_NUM_THREADS``).

    wall_s, peak_mb, output = run_child([sys.executable, "-m", "gankit", "models"], threads=1)
"""

from __future__ import annotations

import os
import subprocess
import time


def run_child(command: list[str], threads: int) -> tuple[float, float, str]:
    """(wall seconds, the child's peak RSS in MB, its output); RuntimeError with the output's end
    when the command fails."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{output[-3000:]}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024, output
