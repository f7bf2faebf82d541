"""Reading the pickled ``.npz`` files of the official formats without running arbitrary pickle code.

Upstream label files and ``name2reason`` model outputs store a dict inside a 0-d object array, which
``numpy.load`` only reads with ``allow_pickle=True`` — i.e. by executing whatever the file says.
ovmer instead unpickles with an allow-list: numpy's array/scalar reconstruction and plain builtins.
A file that asks for anything else is rejected with a clear error.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from ovmer.errors import InputFormatError

_ALLOWED: set[tuple[str, str]] = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("builtins", "dict"),
    ("builtins", "list"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "tuple"),
    ("collections", "OrderedDict"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")


def load_npz_key(path: Path, key: str) -> Any:
    """Return ``np.load(path, allow_pickle=True)[key]`` (as a NumPy array) without unsafe pickle.

    Raises:
        InputFormatError: the file is not an ``.npz``, lacks ``key``, or needs disallowed globals.
    """
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputFormatError(f"{path}: not a readable .npz archive ({exc})") from exc
    with archive:
        member = f"{key}.npy"
        if member not in archive.namelist():
            keys = sorted(n[:-4] for n in archive.namelist() if n.endswith(".npy"))
            raise InputFormatError(f"{path}: has no key {key!r} (keys: {keys})")
        with archive.open(member) as raw:
            stream = io.BytesIO(raw.read())
    version = npy_format.read_magic(stream)
    _shape, _fortran_order, dtype = npy_format._read_array_header(stream, version)  # type: ignore[attr-defined]
    if not dtype.hasobject:
        stream.seek(0)
        return np.load(stream, allow_pickle=False)
    try:
        array = _RestrictedUnpickler(stream).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError) as exc:
        raise InputFormatError(
            f"{path}: key {key!r} holds pickled data ovmer will not load ({exc}); only plain dicts, "
            "strings and numbers are accepted"
        ) from exc
    return np.asarray(array) if not isinstance(array, np.ndarray) else array


def npz_keys(path: Path) -> list[str]:
    """The array names stored in an ``.npz`` file."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sorted(n[:-4] for n in archive.namelist() if n.endswith(".npy"))
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputFormatError(f"{path}: not a readable .npz archive ({exc})") from exc
