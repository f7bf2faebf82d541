"""The LLM extractor: post-processing applied, cache hits, resume after an interruption, failures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from ovmer.errors import CacheMissError
from ovmer.llm.backends import CacheOnlyBackend, HFChatBackend
from ovmer.llm.cache import ReplyCache
from ovmer.llm.extractor import LLMExtractor
from ovmer.llm.postprocess import postprocess_reply
from ovmer.llm.prompts import ovlabels_prompt
from ovmer.llm.settings import SamplingSettings
from ovmer.paths import cache_dir

from .conftest import FAST

TEXTS = ["He is happy.", "She is sad.", "They are angry.", "He is happy.", "Calm.", "Worried."]


@pytest.fixture(scope="module")
def backend(tiny_model_dir: Path) -> HFChatBackend:
    return HFChatBackend(tiny_model_dir, FAST, batch_size=8, device="cpu")


class InterruptAfter(HFChatBackend):
    """The real tiny model, killed (KeyboardInterrupt) on its n-th generate call."""

    def __init__(self, folder: Path, calls: int) -> None:
        super().__init__(folder, FAST, device="cpu")
        self.calls_left = calls

    def generate(self, prompts: Sequence[str]) -> list[str | Exception]:
        if self.calls_left == 0:
            raise KeyboardInterrupt
        self.calls_left -= 1
        return super().generate(prompts)


def test_replies_are_postprocessed_and_cached(backend: HFChatBackend) -> None:
    extractor = LLMExtractor(backend)
    first = extractor.ovlabels(TEXTS)
    raw = backend.generate([ovlabels_prompt(t) for t in TEXTS])
    assert first == [postprocess_reply(r) for r in raw if isinstance(r, str)]
    assert extractor.backend_calls == 5  # the duplicate text is sent once
    assert extractor.cache is not None and extractor.cache.directory == cache_dir() / "llm"
    again = LLMExtractor(backend)
    seen: list[int] = []
    assert again.ovlabels(TEXTS, progress=seen.append) == first
    assert again.backend_calls == 0
    assert sum(seen) == len(TEXTS)
    # A cache-only backend with the same identity and settings answers everything...
    offline = LLMExtractor(CacheOnlyBackend(backend.identity, FAST))
    assert offline.ovlabels(TEXTS) == first
    # ...but other sampling settings are other cache keys.
    other = LLMExtractor(CacheOnlyBackend(backend.identity, SamplingSettings(max_tokens=13)))
    assert all(isinstance(r, CacheMissError) for r in other.ovlabels(TEXTS))


def test_interrupted_run_resumes(tiny_model_dir: Path, tmp_path: Path) -> None:
    cache = ReplyCache(tmp_path / "replies")
    interrupted = LLMExtractor(InterruptAfter(tiny_model_dir, calls=1), cache, chunk_size=2)
    with pytest.raises(KeyboardInterrupt):
        interrupted.ovlabels(TEXTS)
    assert len(list((tmp_path / "replies").rglob("*.json"))) == 2  # the finished chunk survived
    resumed = LLMExtractor(InterruptAfter(tiny_model_dir, calls=10), cache, chunk_size=2)
    replies = resumed.ovlabels(TEXTS)
    assert resumed.backend_calls == 3
    assert all(isinstance(r, str) for r in replies)
    assert not list((tmp_path / "replies").rglob("*.tmp"))


def test_damaged_cache_entry_is_recomputed(backend: HFChatBackend, tmp_path: Path) -> None:
    cache = ReplyCache(tmp_path)
    good = LLMExtractor(backend, cache).ovlabels(TEXTS[:1])
    [entry] = list(tmp_path.rglob("*.json"))
    entry.write_text("{not json")
    extractor = LLMExtractor(backend, cache)
    assert extractor.ovlabels(TEXTS[:1]) == good
    assert extractor.backend_calls == 1


def test_merge_follows_the_table(backend: HFChatBackend) -> None:
    extractor = LLMExtractor(backend)
    out = extractor.merge(["", "He frowns.", "He frowns.", ""], ["", "", "I am fine.", "I am fine."])
    assert out[0] == "Unable to judge the emotional state."
    assert out[1] == "He frowns."
    assert isinstance(out[2], str) and isinstance(out[3], str)
    assert extractor.backend_calls == 2


def test_metadata_records_identity_sampling_and_prompt_hashes(backend: HFChatBackend) -> None:
    meta = LLMExtractor(backend).metadata()
    assert meta["extractor"] == backend.identity
    assert meta["sampling"]["max_tokens"] == 12
    assert len(meta["prompt_sha256"]["ovlabels"]) == 64
