"""Atomic file writes: write to a temporary file beside the target, then rename.

Why: a killed run must never leave a half-written result, cache entry or report behind.
``os.replace`` is atomic on POSIX and Windows when source and target share a file system.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ovmer.errors import OutputPathError


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (``/proc/self/status``)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    old = os.umask(0o022)  # elsewhere: the only portable way to read it is to set it and put it back
    os.umask(old)
    return old


def _final_mode(target: Path) -> int:
    """The mode ``open(target, "w")`` would leave: the existing file's, else ``0o666 & ~umask``.

    ``mkstemp`` creates its file 0600; without this every result and report would be private to its
    writer whatever the user's umask says.
    """
    with contextlib.suppress(OSError):
        return stat.S_IMODE(target.stat().st_mode)
    return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; rename it onto ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fchmod(handle.fileno(), _final_mode(target))
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w") as handle:
        handle.write(text)


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON atomically; floats keep full precision (``repr``)."""
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=True) + "\n")


def _nearest_existing(path: Path) -> Path:
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _probe_folder(folder: Path, shown: Path, what: str) -> None:
    """Create and remove a temporary file in ``folder``; the only test that also holds for root."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".ovmer-write-test.", dir=folder)
    except OSError as exc:
        raise OutputPathError(
            f"{shown}: cannot write in {folder} ({exc.strerror or exc}) (give {what} a writable location)"
        ) from exc
    os.close(fd)
    os.unlink(probe)


def _check_parent(path: Path, what: str) -> None:
    existing = _nearest_existing(path.parent)
    if not existing.is_dir():
        raise OutputPathError(
            f"{path}: {existing} is a file, not a folder (give {what} a path inside a folder)"
        )
    _probe_folder(existing, path, what)


def check_writable_file(path: str | os.PathLike[str], what: str = "the output") -> None:
    """Refuse an output file that cannot be written, before any work is done (docs/cli.md).

    ``what`` names the option in the message (``--json``). The path must not be a folder, its nearest
    existing parent must be a folder in which a file can be created (probed with a temporary file that
    is removed at once). Nothing is created.

    Raises:
        OutputPathError: naming the path, what is wrong and what to do.
    """
    target = Path(path)
    if target.is_dir():
        raise OutputPathError(f"{target}: is a folder, not a file (give {what} a file name)")
    if target.exists() and not target.is_file():
        raise OutputPathError(f"{target}: is not a regular file (give {what} a file name)")
    _check_parent(target, what)


def check_writable_dir(path: str | os.PathLike[str], what: str = "the output folder") -> None:
    """Refuse an output folder that is a file or cannot be created or written (docs/cli.md).

    Raises:
        OutputPathError: naming the path, what is wrong and what to do.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise OutputPathError(f"{target}: is a file, not a folder (give {what} a folder)")
    if target.is_dir():
        _probe_folder(target, target, what)
    else:
        _check_parent(target, what)
