"""Every option of one server, in one dataclass shared by the CLI, the app and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Loopback only unless the user names another interface (docs/serve.md, 'Security').
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


@dataclass(frozen=True)
class ServeSettings:
    """Limits and options of ``ovmer serve`` (defaults are the CLI's).

    Attributes:
        model: the model spec (``clues``, ``affectgpt:…``, ``hf:…``, ``openai:…``; see
            :mod:`ovmer.inference.model_table`).
        api_key: when set, every ``/v1/*`` request must carry it (``Authorization: Bearer KEY`` or
            ``X-API-Key: KEY``); read from the environment variable named by ``--api-key-env``.
        max_upload_mb: the largest accepted file (MiB); a request body may be 1 MiB larger (form fields).
        max_queue: requests waiting for the model; one more is answered 429.
        timeout_s: seconds a request may take from arrival to answer; then 504.
        gt_root: folder with the official ``*-process`` label folders for ``/v1/score``.
        assets: emotion-wheel folder (``--assets``); without one the wheel chart and ``/v1/score``
            use the verified cache (no download while serving).
        cors_origins: origins allowed to call the API from a browser; empty = CORS off.
        temp_root: where the private per-request folders are made (default: the system temp folder).
        corpus: an ``ovmer annotate`` corpus folder whose clips the Review tab lists (docs/annotate.md).
    """

    model: str = "clues"
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    api_key: str | None = None
    max_upload_mb: float = 50.0
    max_queue: int = 8
    timeout_s: float = 120.0
    gt_root: Path | None = None
    assets: Path | None = None
    cors_origins: tuple[str, ...] = ()
    temp_root: Path | None = None
    corpus: Path | None = None

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_body_bytes(self) -> int:
        """Multipart overhead and the text fields ride on top of the largest file."""
        return self.max_upload_bytes + 1024 * 1024
