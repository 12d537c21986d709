"""A path we will write: checked before any work starts, by every verb that writes.

One helper, so that ``gankit sample --out``, ``score --out/--maps``, ``translate --out``,
``report --out``, ``data --preview`` and the style verbs refuse a bad output the same way:
one line naming the path and the reason, exit 2, nothing written (not even a folder).

    out = output_file(args.out, {".png"}, "--out")        # a file we will create or replace
    maps = output_folder(args.maps, "--maps")            # a folder we will fill

No torch here: the CLI calls it before loading a model.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from gankit.errors import GankitError

NAME_MAX = 255  # bytes in one path component on every common file system


def output_file(path: str | Path, suffixes: set[str] | list[str], flag: str = "--out") -> Path:
    """``path`` as a file to create or replace: a name with one of ``suffixes`` in a folder that
    exists or can be made, and writable; never a folder, a device or other special file."""
    path = _checked_names(path, flag)
    allowed = "/".join(sorted(suffixes))
    if path.is_dir():
        raise GankitError(f"{flag} {path} is a folder; give a file name ending in {allowed}")
    if path.suffix.lower() not in suffixes:
        what = f"has an unknown extension {path.suffix!r}" if path.suffix else "has no extension"
        raise GankitError(f"{flag} {path} {what}; give a file name ending in {allowed}")
    if path.exists() or path.is_symlink():
        mode = os.lstat(path).st_mode
        if not stat.S_ISREG(mode):
            raise GankitError(f"{flag} {path} exists and is not a regular file; choose another name")
    _writable(path.parent, path, flag)
    return path


def output_folder(path: str | Path, flag: str = "--out") -> Path:
    """``path`` as a folder to create (or fill, when it exists)."""
    path = _checked_names(path, flag)
    if path.exists() and not path.is_dir():
        raise GankitError(f"{flag} {path} is a file, not a folder; give a folder name")
    _writable(path, path, flag)
    return path


def _checked_names(path: str | Path, flag: str) -> Path:
    text = str(path)
    if not text.strip():
        raise GankitError(f"{flag} is empty; give a path")
    if "\0" in text:
        raise GankitError(f"{flag} {text!r} holds a NUL character")
    path = Path(text)
    for part in path.parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise GankitError(f"{flag}: the name {part[:40]}... is {len(os.fsencode(part))} bytes long; "
                              f"file systems allow {NAME_MAX}")
    return path


def _writable(folder: Path, path: Path, flag: str) -> None:
    """The nearest existing folder on the way to ``folder`` must be a folder we can create files in
    (probed with an unnamed temporary file, so nothing appears even for a moment)."""
    existing = folder
    while not existing.exists():
        if existing.is_symlink():  # a dangling link: writing would create its target elsewhere
            raise GankitError(f"{flag} {path}: {existing} is a broken symbolic link")
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise GankitError(f"{flag} {path}: {existing} is a file, so the folder cannot be made there")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise GankitError(f"{flag} {path}: cannot write in {existing} ({error.strerror or error})") from None
