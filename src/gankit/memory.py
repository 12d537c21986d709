"""Requests that cannot fit are refused up front, with an estimate and a hint, instead of
ending in an allocator's traceback minutes later.

    check_fits(n * 3 * 64 * 64 * 4, f"a grid of {n} samples", "write --format npy, which streams to disk")
    check_disk(out.parent, n * 3 * 64 * 64 * 4, f"{n} samples as .npy")

No torch here: the CLI checks sizes before it loads a model.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from gankit.errors import GankitError


def human(size: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"


def available_memory() -> tuple[int, int]:
    """(available, total) bytes of RAM: MemAvailable where Linux reports it, else free pages."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = os.sysconf("SC_PHYS_PAGES") * page
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, total
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * page, total


def check_fits(needed: int, what: str, hint: str, room: tuple[int, int, str] | None = None) -> None:
    """GankitError when ``needed`` bytes exceed what is available: this machine's RAM, or the
    ``room`` (available, total, holder) of another device (``gankit.footprint.device_memory``)."""
    available, total, holder = room or (*available_memory(), "this machine")
    if needed > available:
        raise GankitError(f"{what}: about {human(needed)} of memory needed; {holder} has {human(available)} "
                          f"available ({human(total)} in all); {hint}")


def check_disk(folder: Path, needed: int, what: str) -> None:
    """GankitError when the disk that will hold ``folder`` has less than ``needed`` bytes free."""
    existing = next((p for p in (Path(folder), *Path(folder).parents) if p.exists()), Path("."))
    free = shutil.disk_usage(existing).free
    if needed > free:
        raise GankitError(f"{what}: about {human(needed)} of disk needed; {existing} has {human(free)} free")
