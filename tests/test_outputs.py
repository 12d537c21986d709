"""The one check of a path a verb will write (gankit/outputs.py)."""

import os

import pytest

from gankit.errors import GankitError
from gankit.outputs import output_file, output_folder


def test_good_outputs_pass_and_nothing_is_created(tmp_path):
    assert output_file(tmp_path / "new" / "deeper" / "grid.png", {".png"}) == tmp_path / "new" / "deeper" / "grid.png"
    assert output_file(tmp_path / "GRID.PNG", {".png"})  # extensions compare without case
    (tmp_path / "old.png").write_bytes(b"x")
    assert output_file(tmp_path / "old.png", {".png"})  # an existing file is replaced when written
    assert output_folder(tmp_path / "a" / "b") and output_folder(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.png"]  # the checks wrote nothing


@pytest.mark.parametrize("name, message", [
    ("", "is empty"),
    ("x", "has no extension"),
    ("x.jpg", "unknown extension '.jpg'"),
    ("a" * 256 + ".png", "bytes long"),
    ("a\0b.png", "NUL"),
])
def test_bad_file_names(tmp_path, name, message):
    with pytest.raises(GankitError, match=message):
        output_file(str(tmp_path / name) if name else "", {".png"})


def test_what_is_already_there(tmp_path):
    (tmp_path / "file.png").write_bytes(b"")
    os.mkfifo(tmp_path / "fifo.png")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    cases = [
        (lambda: output_file(tmp_path, {".png"}), "is a folder"),
        (lambda: output_file(tmp_path / "fifo.png", {".png"}), "not a regular file"),
        (lambda: output_file(tmp_path / "file.png" / "x.png", {".png"}), "is a file, so the folder cannot be made"),
        (lambda: output_folder(tmp_path / "file.png"), "is a file, not a folder"),
        (lambda: output_folder(tmp_path / "dangling" / "x"), "broken symbolic link"),
        (lambda: output_file("/proc/x.png", {".png"}), "cannot write in /proc"),
        (lambda: output_folder("/proc/self/x"), "cannot write in /proc"),
    ]
    for check, message in cases:
        with pytest.raises(GankitError, match=message) as caught:
            check()
        assert "\n" not in str(caught.value)
