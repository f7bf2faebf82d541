"""Reading the pickled ``.npz`` files of the official formats without running arbitrary pickle code.

Upstream label files and ``name2reason`` model outputs store a dict inside a 0-d object array, which
``numpy.load`` only reads with ``allow_pickle=True`` — i.e. by executing whatever the file says.
ovmer instead unpickles with an allow-list: numpy's array/scalar reconstruction and plain builtins.
A file that asks for anything else is rejected with a clear error.

Every ``.npz``/zip member ovmer reads goes through :func:`read_member`, which refuses a member larger
than ``OVMER_MAX_MEMBER_BYTES`` (default 2 GiB) both by the size the archive declares and while
inflating, so a few-kilobyte archive cannot fill the memory (docs/security.md).
"""

from __future__ import annotations

import io
import os
import pickle
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from ovmer.errors import EnvironmentVariableError, InputFormatError

#: The environment variable that bounds the bytes of one archive member ovmer inflates.
MAX_MEMBER_BYTES_VARIABLE = "OVMER_MAX_MEMBER_BYTES"
#: Default bound: far above any label or prediction file (the largest official ones are a few MB).
DEFAULT_MAX_MEMBER_BYTES = 2 * 1024**3
#: What NumPy raises on a corrupt ``.npy`` (its header is parsed with ``ast``/``tokenize``); catch these
#: around ``np.load`` of a user file.
NUMPY_READ_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    EOFError,
    OSError,
    TypeError,
    SyntaxError,
    tokenize.TokenError,
    OverflowError,
    MemoryError,
)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_CHUNK = 1 << 20

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


def max_member_bytes() -> int:
    """The bound on one archive member's inflated size: ``OVMER_MAX_MEMBER_BYTES``, the one parser.

    A number of bytes, optionally with a binary unit ``K``, ``M``, ``G`` or ``T`` (``512M``); unset or
    empty means :data:`DEFAULT_MAX_MEMBER_BYTES`.

    Raises:
        EnvironmentVariableError: any other value.
    """
    raw = os.environ.get(MAX_MEMBER_BYTES_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_MAX_MEMBER_BYTES
    number, unit = raw[:-1] if raw[-1:].isalpha() else raw, raw[-1:].upper() if raw[-1:].isalpha() else ""
    if not number.isdigit() or unit not in _UNITS or int(number) <= 0:
        raise EnvironmentVariableError(
            f"{MAX_MEMBER_BYTES_VARIABLE}={raw!r} is not a positive number of bytes (such as 2147483648 or "
            "2G); set one, or unset it for the default of 2G"
        )
    return int(number) * _UNITS[unit]


def _too_large(path: Path | str, member: str, size: str, limit: int) -> InputFormatError:
    return InputFormatError(
        f"{path}: member {member!r} {size}, over the limit of {limit} bytes; if the file is genuine, "
        f"raise {MAX_MEMBER_BYTES_VARIABLE} (docs/security.md)"
    )


def check_member_sizes(archive: zipfile.ZipFile, path: Path | str) -> None:
    """Refuse an archive a member of which declares more than :func:`max_member_bytes` bytes.

    Enough for readers that hand the archive to another library (``openpyxl`` for ``.xlsx``):
    Python's ``zipfile`` never inflates a member past its declared size.
    """
    limit = max_member_bytes()
    for info in archive.infolist():
        if info.file_size > limit:
            raise _too_large(path, info.filename, f"declares {info.file_size} bytes", limit)


def read_member(archive: zipfile.ZipFile, member: str, path: Path | str) -> bytes:
    """The bytes of one archive member, inflated at most up to :func:`max_member_bytes`.

    The declared size is checked first, and reading stops past the limit whatever the archive
    declares. Only stored and deflated members (what ``numpy.savez`` writes) are read.

    Raises:
        InputFormatError: naming ``path`` and the member (too large, unsupported, corrupt).
    """
    limit = max_member_bytes()
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise InputFormatError(f"{path}: has no member {member!r}") from None
    if info.file_size > limit:
        raise _too_large(path, member, f"declares {info.file_size} bytes", limit)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise InputFormatError(
            f"{path}: member {member!r} uses zip compression {info.compress_type}; only stored and "
            "deflated members (what numpy.savez writes) are read"
        )
    chunks: list[bytes] = []
    total = 0
    try:
        with archive.open(info) as raw:
            while chunk := raw.read(min(_CHUNK, limit + 1 - total)):
                total += len(chunk)
                if total > limit:
                    raise _too_large(path, member, "inflates past its declared size", limit)
                chunks.append(chunk)
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        NotImplementedError,
        RuntimeError,
        ValueError,
    ) as exc:
        raise InputFormatError(f"{path}: member {member!r} is corrupt ({exc})") from exc
    return b"".join(chunks)


def open_archive(path: Path) -> zipfile.ZipFile:
    """Open a zip archive (``.npz``) for :func:`read_member`; a file that is none names itself.

    Raises:
        InputFormatError: missing, unreadable or not a zip archive.
    """
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise InputFormatError(f"{path}: not a readable .npz archive ({exc})") from exc


def load_npy_bytes(data: bytes, where: str, *, allow_objects: bool = True) -> Any:
    """Parse one ``.npy`` payload; object arrays through the allow-listed unpickler.

    Args:
        data: the bytes of a ``.npy`` file (or ``.npz`` member).
        where: ``file`` or ``file`` + key, for messages.
        allow_objects: object arrays are unpickled with the allow-list; False refuses them.

    Raises:
        InputFormatError: not a ``.npy``, an object array where none is allowed, disallowed globals.
    """
    stream = io.BytesIO(data)
    try:
        version = npy_format.read_magic(stream)
        _shape, _fortran_order, dtype = npy_format._read_array_header(stream, version)  # type: ignore[attr-defined]
        if not dtype.hasobject:
            stream.seek(0)
            return np.load(stream, allow_pickle=False)
    except NUMPY_READ_ERRORS as exc:
        raise InputFormatError(f"{where}: not a readable NumPy array ({exc})") from exc
    if not allow_objects:
        raise InputFormatError(
            f"{where}: is a NumPy object (pickled) array; expected plain strings or numbers"
        )
    try:
        array = _RestrictedUnpickler(stream).load()
    # The allow-listed types still raise anything on bad arguments (``dict(5)``: TypeError); all
    # of it is bad input, never ovmer's fault.
    except Exception as exc:
        raise InputFormatError(
            f"{where} holds pickled data ovmer will not load ({type(exc).__name__}: {exc}); only plain "
            "dicts, lists, strings and numbers are accepted"
        ) from exc
    if isinstance(array, np.ndarray):
        return array
    # Like np.load: a pickle of something else comes back as that object (in a 0-d array here).
    wrapped = np.empty((), dtype=object)
    wrapped[()] = array
    return wrapped


def load_npz_key(path: Path, key: str, *, allow_objects: bool = True) -> Any:
    """Return ``np.load(path, allow_pickle=True)[key]`` (as a NumPy array) without unsafe pickle.

    The member is read with :func:`read_member` (bounded); ``allow_objects=False`` refuses object
    arrays (for files whose layout has none, such as ``-openset.npz``).

    Raises:
        InputFormatError: the file is not an ``.npz``, lacks ``key``, is too large, or needs
            disallowed globals.
    """
    path = Path(path)
    with open_archive(path) as archive:
        member = f"{key}.npy"
        if member not in archive.namelist():
            keys = sorted(n[:-4] for n in archive.namelist() if n.endswith(".npy"))
            raise InputFormatError(f"{path}: has no key {key!r} (keys: {keys})")
        data = read_member(archive, member, path)
    return load_npy_bytes(data, f"{path}: key {key!r}", allow_objects=allow_objects)


def npz_keys(path: Path) -> list[str]:
    """The array names stored in an ``.npz`` file."""
    with open_archive(Path(path)) as archive:
        return sorted(n[:-4] for n in archive.namelist() if n.endswith(".npy"))
