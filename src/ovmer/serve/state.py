"""What one server holds for its lifetime: the settings, the loaded model, its queue and the wheel."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from ovmer.data.benchmarks import BENCHMARKS
from ovmer.errors import AssetError
from ovmer.inference.protocol import AnswerModel
from ovmer.labels.mapping import LabelMapper
from ovmer.serve.batching import MicroBatcher
from ovmer.serve.settings import ServeSettings
from ovmer.serve.wheel import wheel_layout

logger = logging.getLogger(__name__)

#: Scorings run at once (each is CPU-bound pandas work in a thread); one more is refused with 429.
MAX_CONCURRENT_SCORINGS = 2


@dataclass
class ServerState:
    """One model per server, loaded once; the wheel maps when the verified files are at hand."""

    settings: ServeSettings
    model: AnswerModel
    batcher: MicroBatcher
    mapper: LabelMapper | None = None
    layout: dict[str, list[str]] | None = None
    scorings: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_CONCURRENT_SCORINGS))

    @classmethod
    def create(cls, settings: ServeSettings, model: AnswerModel) -> ServerState:
        state = cls(settings, model, MicroBatcher(model, settings.max_queue))
        state.load_wheel()
        return state

    def load_wheel(self) -> None:
        """The emotion-wheel maps from ``--assets`` or the verified cache; never a download while
        serving. Without them the page shows labels unplaced and ``/v1/score`` answers 503."""
        from ovmer.assets import load_wheel_maps

        try:
            maps = load_wheel_maps(self.settings.assets, download=False)
        except AssetError as exc:
            logger.warning("no emotion-wheel files: the wheel chart and /v1/score are off (%s)", exc)
            return
        self.mapper = LabelMapper(maps)
        self.layout = wheel_layout(maps)

    def health(self) -> dict[str, Any]:
        s = self.settings
        return {
            "status": "ok",
            "model": self.model.identity,
            "api_key_required": s.api_key is not None,
            "limits": {"max_upload_mb": s.max_upload_mb, "max_queue": s.max_queue, "timeout_s": s.timeout_s},
            "wheel": self.mapper is not None,
            "datasets": list(BENCHMARKS),
            "review": s.corpus is not None,
        }
