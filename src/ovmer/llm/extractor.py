"""Label extraction: the three LLM tasks of the evaluator, with caching and per-sample failures.

Tasks (docs/extraction.md; docs/scoring.md, 'Pipeline'):

* ``ovlabels`` — step A, a model's free-text answer → an OV list string such as ``[concern, worry]``;
* ``sentiment`` — step B, a stored OV list string → ``positive`` / ``negative`` / ``neutral``;
* ``merge`` — the OV-MER clue + subtitle merge (docs/extraction.md, 'Clue merge'), → a new free-text
  description.

Two implementations share the :class:`LabelExtractor` interface: :class:`LLMExtractor` (any
:class:`~ovmer.llm.backends.Backend`, exact prompts, upstream's reply post-processing, reply cache) and
:class:`~ovmer.llm.lexicon.LexiconExtractor` (rules, no model). Every method returns one entry per
input: the string, or the exception that sample raised, so a run records failures and goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ovmer.llm.backends import Backend
from ovmer.llm.cache import CachedReply, ReplyCache, cache_key
from ovmer.llm.postprocess import postprocess_reply
from ovmer.llm.prompts import OVLABELS, SENTIMENT, PromptTemplate, merge_prompt, merge_without_llm

TASKS = ("ovlabels", "sentiment", "merge")

Outcome = str | Exception
#: Called with the number of samples just finished (for progress bars).
ProgressCallback = Callable[[int], None]


class LabelExtractor(Protocol):
    """The extraction interface ``ovmer extract`` and ``ovmer bench`` use."""

    identity: str

    def metadata(self) -> dict[str, Any]:
        """What to record with every result: identity, sampling settings, prompt hashes."""
        ...

    def ovlabels(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> list[Outcome]: ...

    def sentiment(
        self, ov_lists: Sequence[str], progress: ProgressCallback | None = None
    ) -> list[Outcome]: ...

    def merge(
        self, clues: Sequence[str], subtitles: Sequence[str], progress: ProgressCallback | None = None
    ) -> list[Outcome]: ...


class LLMExtractor:
    """Runs the paper's prompts through a backend, with the reply cache in front of it.

    Args:
        backend: the LLM.
        cache: reply cache (default: the one under ``ovmer.paths.cache_dir()``); ``None`` disables it
            only when ``use_cache=False``.
        chunk_size: prompts handed to the backend at once; replies are cached after each chunk, so
            an interrupted run loses at most one chunk.
    """

    def __init__(
        self,
        backend: Backend,
        cache: ReplyCache | None = None,
        *,
        use_cache: bool = True,
        chunk_size: int = 32,
    ) -> None:
        self.backend = backend
        self.cache = (cache or ReplyCache()) if use_cache else None
        self.chunk_size = max(1, chunk_size)
        self.identity = backend.identity
        self.backend_calls = 0  # prompts actually sent to the backend

    def metadata(self) -> dict[str, Any]:
        from ovmer.llm.prompts import PROMPTS

        return {
            "extractor": self.identity,
            "sampling": self.backend.sampling.to_json(),
            "prompt_sha256": {name: p.sha256 for name, p in PROMPTS.items()},
        }

    def complete(
        self,
        template: PromptTemplate,
        values: Sequence[dict[str, str]],
        progress: ProgressCallback | None = None,
    ) -> list[Outcome]:
        """Render ``template`` with each value dict, answer from cache or backend, post-process."""
        prompts = [template.render(**v) for v in values]
        results: list[Outcome | None] = [None] * len(prompts)
        keys = [cache_key(template.sha256, self.identity, self.backend.sampling, p) for p in prompts]
        pending: list[int] = []
        for index, key in enumerate(keys):
            cached = self.cache.get(key) if self.cache else None
            if cached is not None:
                results[index] = cached.reply
            else:
                pending.append(index)
        if progress and len(prompts) - len(pending):
            progress(len(prompts) - len(pending))
        # Identical prompts (common: many samples share one OV list) are sent once.
        unique: dict[str, list[int]] = {}
        for index in pending:
            unique.setdefault(prompts[index], []).append(index)
        order = list(unique)
        for start in range(0, len(order), self.chunk_size):
            chunk = order[start : start + self.chunk_size]
            self.backend_calls += len(chunk)
            raw_replies = self.backend.generate(chunk)
            for prompt, raw in zip(chunk, raw_replies, strict=True):
                outcome: Outcome
                if isinstance(raw, Exception):
                    outcome = raw
                else:
                    outcome = postprocess_reply(raw)
                    if self.cache:
                        self.cache.put(
                            keys[unique[prompt][0]],
                            CachedReply(raw=raw, reply=outcome),
                            {"backend": self.identity, "template": template.name},
                        )
                for index in unique[prompt]:
                    results[index] = outcome
                if progress:
                    progress(len(unique[prompt]))
        return [r if r is not None else RuntimeError("no result") for r in results]

    def ovlabels(self, texts: Sequence[str], progress: ProgressCallback | None = None) -> list[Outcome]:
        return self.complete(OVLABELS, [{"DESCRIPTION": t} for t in texts], progress)

    def sentiment(self, ov_lists: Sequence[str], progress: ProgressCallback | None = None) -> list[Outcome]:
        return self.complete(SENTIMENT, [{"OVLIST": t} for t in ov_lists], progress)

    def merge(
        self, clues: Sequence[str], subtitles: Sequence[str], progress: ProgressCallback | None = None
    ) -> list[Outcome]:
        """docs/extraction.md, 'Clue merge': no LLM call when the subtitle is empty; M1 or M2 otherwise."""
        results: list[Outcome | None] = [None] * len(clues)
        groups: dict[str, list[int]] = {}
        templates: dict[str, PromptTemplate] = {}
        for index, (clue, subtitle) in enumerate(zip(clues, subtitles, strict=True)):
            fixed = merge_without_llm(clue, subtitle)
            if fixed is not None:
                results[index] = fixed
                if progress:
                    progress(1)
                continue
            template = merge_prompt(clue, subtitle)
            assert template is not None
            templates[template.name] = template
            groups.setdefault(template.name, []).append(index)
        for name, indices in groups.items():
            template = templates[name]
            values = [
                {"CLUE": clues[i], "SUBTITLE": subtitles[i]}
                if "CLUE" in template.fields
                else {"SUBTITLE": subtitles[i]}
                for i in indices
            ]
            for index, outcome in zip(indices, self.complete(template, values, progress), strict=True):
                results[index] = outcome
        return [r if r is not None else RuntimeError("no result") for r in results]
