"""Reader for the IDX format of "Gradient-Based Learning Applied to Document
Recognition" (LeCun et al., 1998), the files MNIST and Fashion-MNIST ship as:
a 4-byte magic (two zero bytes, a type code, the number of dimensions), one
big-endian uint32 per dimension, then the values.

    images = read_idx(Path("train-images-idx3-ubyte.gz"), ndim=3)   # uint8 [60000, 28, 28]
    labels = read_idx(Path("train-labels-idx1-ubyte.gz"), ndim=1)   # uint8 [60000]
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from gankit.errors import GankitError

UNSIGNED_BYTE = 0x08  # the only type code the MNIST family uses


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """The uint8 array stored in ``path`` (gzipped when it ends in .gz); GankitError when malformed."""
    raw = _read_bytes(path)
    if len(raw) < 4 + 4 * ndim:
        raise GankitError(f"{path} is truncated: {len(raw)} bytes is shorter than an IDX header")
    if raw[0] != 0 or raw[1] != 0 or raw[2] != UNSIGNED_BYTE or raw[3] != ndim:
        raise GankitError(
            f"{path} is not an IDX file of {ndim}-D unsigned bytes (magic {raw[:4].hex()}, "
            f"expected 000008{ndim:02x})"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = 4 + 4 * ndim + math.prod(shape)
    if len(raw) != expected:
        state = "truncated" if len(raw) < expected else "corrupt"
        raise GankitError(f"{path} is {state}: {len(raw)} bytes, its header {shape} needs {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as file:
                return file.read()
        return path.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise GankitError(f"{path} is not a valid gzip file ({error})") from None
    except OSError as error:
        raise GankitError(f"cannot read {path}: {error.strerror or error}") from None
