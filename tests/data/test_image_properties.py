"""Property-based tests of the image loader and the spec parser: random bytes, and random
small arrays saved in random PIL modes and formats, either load as images of the asked
shape or are skipped with a count / refused with GankitError; nothing else escapes."""

import io
import warnings

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from gankit.config import DataConfig
from gankit.data import load_data
from gankit.data.images import DECODE_ERRORS, decode_file
from gankit.data.specs import parse_spec
from gankit.errors import GankitError

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"]
FORMATS = {"png": "PNG", "jpg": "JPEG", "tif": "TIFF", "bmp": "BMP", "gif": "GIF", "webp": "WEBP"}


def encode(pixels: np.ndarray, mode: str, extension: str) -> bytes | None:
    """``pixels`` [H, W, 4] uint8 as an image of ``mode``; None when the format cannot store that mode."""
    rgba = Image.fromarray(pixels, "RGBA")
    image = rgba.convert(mode) if mode not in ("I;16",) else Image.fromarray(pixels[..., 0].astype(np.uint16) * 257)
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=FORMATS[extension])
    except (OSError, ValueError, KeyError):
        return None
    return buffer.getvalue()


images = st.tuples(arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12), st.just(4))),
                   st.sampled_from(MODES), st.sampled_from(sorted(FORMATS)))


@FAST
@given(images, st.sampled_from([1, 3]), st.integers(1, 9))
def test_random_images_in_any_mode_decode_to_the_asked_shape(tmp_path_factory, image, channels, size):
    pixels, mode, extension = image
    data = encode(pixels, mode, extension)
    if data is None:
        return
    path = tmp_path_factory.mktemp("img") / f"x.{extension}"
    path.write_bytes(data)
    out = decode_file(path, channels, size)
    assert out.dtype == torch.uint8 and out.shape == (channels, size, size)


@FAST
@given(st.binary(max_size=300), st.sampled_from(sorted(FORMATS)))
def test_random_bytes_decode_or_raise_a_decode_error(tmp_path_factory, data, extension):
    path = tmp_path_factory.mktemp("bytes") / f"x.{extension}"
    path.write_bytes(data)
    try:
        out = decode_file(path, 3, 4)
    except DECODE_ERRORS:
        return
    assert out.shape == (3, 4, 4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(images, st.binary(max_size=120).map(lambda b: (b, None, "png"))), min_size=1, max_size=6),
       st.sampled_from(["always", "never"]))
def test_folders_of_random_files_load_skip_or_raise_gankit_error(tmp_path_factory, files, in_memory):
    folder = tmp_path_factory.mktemp("folder")
    for i, (content, mode, extension) in enumerate(files):
        data = content if mode is None else encode(content, mode, extension)
        if data is not None:
            (folder / f"{i}.{extension}").write_bytes(data)
    config = DataConfig(spec=f"folder:{folder}", image_size=8, in_memory=in_memory, split="test", num_workers=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the skipped-files count is tested in test_hostile_images.py
        try:
            data = load_data(config)
        except GankitError:
            return
    assert len(data) >= 1 and data.shape[1:] == (8, 8)
    for i in range(len(data)):
        try:
            x = data.x[i] if data.x is not None else data.source[i][0]
        except GankitError:  # streamed: damage past a readable header shows when read
            continue
        assert x.isfinite().all() and x.min() >= -1 and x.max() <= 1


part = st.text(max_size=15) | st.builds(lambda s, k, v: f"{s}[{k}={v}]", st.sampled_from(["digits", "mnist", "x/"]),
                                        st.text(max_size=8), st.text(max_size=8))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["unpaired:", "folder:", "defects:", "toy:", "", "digits"]), part, part)
def test_spec_strings_parse_or_raise_gankit_error(prefix, a, b):
    text = f"{prefix}{a},{b}"
    try:
        parse_spec(text)
    except GankitError:
        return


@settings(max_examples=60, deadline=None)
@given(part, part)
def test_unpaired_specs_load_or_raise_gankit_error(a, b):
    try:
        load_data(DataConfig(spec=f"unpaired:{a},{b}", image_size=8))
    except GankitError:
        pass
