"""Uploads: one private folder per request, files saved under a size cap, media told by content.

Why: an upload must never name or reach a server-side path, must not fill the disk, and must be gone
when the request is answered (docs/serve.md, 'Security'). The folder is ``mkdtemp``'s (mode 0700,
random name) and removed when the last user of it lets go: the request handler, the queued model
job and the model-inputs view each hold it, because a timed-out request may still have its clip
being read by the model thread.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ovmer.errors import ServeError

T = TypeVar("T")

#: Bytes read per chunk while saving an upload (1 MiB: few syscalls, bounded memory).
CHUNK_BYTES = 1024 * 1024
#: Bytes the content sniffers look at.
SNIFF_BYTES = 512


class AsyncReadable(Protocol):
    """What an upload offers (``starlette.datastructures.UploadFile``)."""

    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


class RequestScratch:
    """A private folder for one request's files, removed when every holder has released it."""

    def __init__(self, temp_root: Path | None = None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="ovmer-serve-", dir=temp_root))
        self._holders = 1
        self._lock = threading.Lock()

    def hold(self) -> None:
        """One more user of the folder (a queued job, a view being built)."""
        with self._lock:
            self._holders += 1

    def release(self) -> None:
        """Let go; the last one out removes the folder. Safe from any thread."""
        with self._lock:
            self._holders -= 1
            last = self._holders == 0
        if last:
            shutil.rmtree(self.path, ignore_errors=True)

    def in_thread(self, function: Callable[..., T], *args: Any) -> asyncio.Task[T]:
        """Start ``function(*args)`` in a worker thread, holding the folder until it returns.

        Await the task through :func:`asyncio.shield`: a task cancelled before its thread starts (a
        request timing out while the thread pool is busy) would never run, and never let go of the
        folder. Its error, when nobody awaits it any more, is retrieved and dropped.
        """
        self.hold()

        def run() -> T:
            try:
                return function(*args)
            finally:
                self.release()

        task = asyncio.ensure_future(asyncio.to_thread(run))
        task.add_done_callback(lambda done: None if done.cancelled() else done.exception())
        return task

    def scrub(self, message: str) -> str:
        """``message`` without the private folder's path (clients see only their file names)."""
        return message.replace(os.fspath(self.path) + os.sep, "").replace(os.fspath(self.path), "upload")


def safe_file_name(name: str | None, default: str) -> str:
    """The client's file name reduced to ``[A-Za-z0-9._-]`` (at most 100 characters, no leading dot),
    so it can keep meaning-bearing suffixes (``-openset.npz``) but never name a path; ``default``
    when nothing is left."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename((name or "").replace("\\", "/")))
    base = base.lstrip(".")[-100:]
    return base or default


async def save_upload(upload: AsyncReadable, destination: Path, limit_bytes: int, field: str) -> bytes:
    """Copy ``upload`` to ``destination`` (created new, mode 0600), refusing more than ``limit_bytes``.

    Returns the first :data:`SNIFF_BYTES` bytes for :func:`sniff_media`.

    Raises:
        ServeError: 413 ``too_large`` as soon as the cap is passed (the partial file is removed with
            the request's folder); 422 ``empty_file`` for an empty upload.
    """
    size, head = 0, b""
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := await upload.read(CHUNK_BYTES):
            size += len(chunk)
            if size > limit_bytes:
                raise ServeError(
                    413,
                    "too_large",
                    f"{field}: the file is larger than this server's limit of "
                    f"{limit_bytes / 1024 / 1024:g} MiB (--max-upload-mb)",
                )
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            out.write(chunk)
    if size == 0:
        raise ServeError(422, "empty_file", f"{field}: the uploaded file is empty")
    return head


def _is_iso_media(head: bytes) -> bool:
    return head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")


def _is_mpeg_ts(head: bytes) -> bool:
    return len(head) > 188 and head[0] == 0x47 and head[188] == 0x47


def video_container(head: bytes) -> str | None:
    """The video container ``head`` starts like, told by its magic bytes (never by the file name):
    MP4/MOV, Matroska/WebM, AVI, FLV, MPEG-TS, MPEG-PS, Ogg, ASF."""
    if _is_iso_media(head):
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"FLV"):
        return "flv"
    if _is_mpeg_ts(head):
        return "mpegts"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpeg"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "asf"
    return None


def audio_container(head: bytes) -> str | None:
    """The audio format ``head`` starts like: WAV, FLAC, Ogg, MP3/AAC (ID3 or a frame sync), M4A."""
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if _is_iso_media(head):
        return "m4a"
    return None


def require_media(head: bytes, field: str, kind: str) -> str:
    """The container of an upload, or 415 ``unsupported_media`` naming the field and what is accepted."""
    found = video_container(head) if kind == "video" else audio_container(head)
    if found is None:
        accepted = (
            "MP4/MOV, WebM/MKV, AVI, FLV, MPEG-TS/PS, Ogg or ASF"
            if kind == "video"
            else "WAV, FLAC, Ogg, MP3/AAC or M4A"
        )
        raise ServeError(
            415,
            "unsupported_media",
            f"{field}: the file's content is not a {kind} file this server reads ({accepted}); the "
            "file name is not looked at",
        )
    return found
