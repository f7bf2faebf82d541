"""On-disk cache of extractor replies, so reruns are free and interrupted runs resume
(docs/extraction.md, 'Determinism and the cache').

One small JSON file per reply under ``<ovmer cache>/llm/<key[:2]>/<key>.json``, written atomically.
The key is the SHA-256 of (prompt-template hash, backend identity, sampling settings, full prompt
text): change any of them and the reply is computed again. Files, not a database, because several
processes may extract at once and a killed run must leave only whole entries behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovmer.atomic import write_text_atomic
from ovmer.llm.settings import SamplingSettings
from ovmer.paths import cache_dir


def cache_key(template_sha256: str, identity: str, sampling: SamplingSettings, prompt: str) -> str:
    """The cache key of one reply (64 hex characters)."""
    material = json.dumps(
        {"template": template_sha256, "backend": identity, "sampling": sampling.to_json(), "prompt": prompt},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


@dataclass
class CachedReply:
    """A stored reply: the raw completion and its post-processed form."""

    raw: str
    reply: str


class ReplyCache:
    """Reply store under ``directory`` (default: ``ovmer.paths.cache_dir() / 'llm'``)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else cache_dir() / "llm"
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> CachedReply | None:
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            reply = CachedReply(raw=str(data["raw"]), reply=str(data["reply"]))
        except FileNotFoundError:
            self.misses += 1
            return None
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1  # a damaged entry is recomputed and overwritten
            return None
        self.hits += 1
        return reply

    def put(self, key: str, reply: CachedReply, meta: dict[str, Any] | None = None) -> None:
        record = {"raw": reply.raw, "reply": reply.reply, **(meta or {})}
        with contextlib.suppress(OSError):  # a read-only cache only costs speed
            write_text_atomic(self._path(key), json.dumps(record, ensure_ascii=False))
