"""The extractor LLM in-process under vLLM (``vllm:ID_OR_PATH[?key=value&…]``), as the paper ran it.

Upstream's step A/B ran Qwen2.5-7B-Instruct through ``vllm.LLM.generate`` on rendered chat text
(docs/extraction.md, 'Reference settings'). This backend does the same at GPU speed, and asks exactly
what the transformers backend asks: the same rendered bytes (:func:`~ovmer.llm.local_model.render_prompt`),
the same stop tokens, the same per-prompt seed for sampled decoding, the same ``max_tokens`` and
repetition penalty. Under greedy decoding the two give the same replies up to the engines' numerics;
the cache keeps them apart by identity (``vllm:<source>@<version>``).

The engine is behind a two-method seam (:class:`GenerationEngine`: rendered texts and per-request
sampling dicts in, completion texts out), so everything but the engine itself — request building and
post-processing — is tested on a CPU against the transformers backend; :class:`VLLMEngine` is the real
one (vLLM is installed by the user on a GPU machine: ``pip install vllm``; it is not an ovmer extra).

Spec options (after ``?``): ``tensor_parallel_size`` (1), ``gpu_memory_utilization`` (0.9),
``max_model_len`` (the model's), ``dtype`` (``auto``), ``revision``, ``load_format`` (``auto``;
``dummy`` gives random weights for throughput runs, ``benchmarks/extractor.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ovmer.errors import BackendError
from ovmer.hub import hub_from_pretrained
from ovmer.llm.local_model import derive_seed, model_identity, render_prompt, stop_token_ids
from ovmer.llm.settings import DETERMINISTIC, SamplingSettings


class GenerationEngine(Protocol):
    """What :class:`VLLMBackend` needs from an engine: one batched call.

    ``generate(texts, params)`` takes B rendered prompts and B sampling dicts (the keyword arguments of
    ``vllm.SamplingParams``) and returns B completion texts, special tokens skipped.
    """

    def generate(self, texts: list[str], params: list[dict[str, Any]]) -> list[str]: ...


@dataclass(frozen=True)
class VLLMOptions:
    """Engine settings of a ``vllm:`` spec (they change speed and memory, not the request)."""

    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None
    dtype: str = "auto"
    revision: str | None = None
    load_format: str = "auto"


_CASTS: dict[str, Any] = {
    "tensor_parallel_size": int,
    "gpu_memory_utilization": float,
    "max_model_len": int,
    "dtype": str,
    "revision": str,
    "load_format": str,
}


def parse_vllm_spec(argument: str) -> tuple[str, VLLMOptions]:
    """The text after ``vllm:`` → (model source, options); a bad option is a :class:`BackendError`."""
    source, _, query = argument.partition("?")
    if not source:
        raise BackendError("backend spec 'vllm:' needs a model: vllm:ID_OR_PATH[?key=value&…]")
    values: dict[str, Any] = {}
    for item in filter(None, query.split("&")):
        key, sep, value = item.partition("=")
        if not sep or key not in _CASTS:
            raise BackendError(
                f"vllm spec option {item!r} is not key=value with a known key ({', '.join(_CASTS)})"
            )
        try:
            values[key] = _CASTS[key](value)
        except ValueError:
            raise BackendError(f"vllm spec option {key}={value!r} is not a {_CASTS[key].__name__}") from None
    return source, VLLMOptions(**values)


def sampling_params(sampling: SamplingSettings, prompt: str, stop_ids: list[int]) -> dict[str, Any]:
    """The ``vllm.SamplingParams`` keywords for one prompt: greedy as temperature 0; sampled with the
    per-prompt seed the transformers backend uses (so replies do not depend on batching)."""
    params: dict[str, Any] = {
        "max_tokens": sampling.max_tokens,
        "repetition_penalty": sampling.repetition_penalty,
        "stop_token_ids": list(stop_ids),
        "skip_special_tokens": True,
    }
    if sampling.greedy:
        params.update(temperature=0.0, top_p=1.0, top_k=-1)
    else:
        params.update(temperature=sampling.temperature, top_p=sampling.top_p, top_k=-1)
        if sampling.seed is not None:
            params["seed"] = derive_seed(sampling.seed, prompt)
    return params


class VLLMEngine:
    """``vllm.LLM`` behind :class:`GenerationEngine` (imported here only: vLLM is optional)."""

    def __init__(self, source: str, options: VLLMOptions) -> None:
        try:
            import vllm
        except ImportError as exc:
            raise BackendError(
                "the vllm: backend needs vLLM on a CUDA machine: pip install vllm (or use hf:ID)"
            ) from exc
        self._params_type = vllm.SamplingParams
        kwargs: dict[str, Any] = {
            "model": source,
            "tensor_parallel_size": options.tensor_parallel_size,
            "gpu_memory_utilization": options.gpu_memory_utilization,
            "dtype": options.dtype,
            "load_format": options.load_format,
            "seed": 0,
        }
        if options.revision:
            kwargs["revision"] = options.revision
        if options.max_model_len:
            kwargs["max_model_len"] = options.max_model_len
        self._llm = vllm.LLM(**kwargs)

    def generate(self, texts: list[str], params: list[dict[str, Any]]) -> list[str]:
        requests = [self._params_type(**p) for p in params]
        outputs = self._llm.generate(texts, requests, use_tqdm=False)
        return [str(output.outputs[0].text) for output in outputs]


class VLLMBackend:
    """Step A/B replies from an in-process engine (vLLM by default).

    Args:
        model: hub id or local folder; its tokenizer renders the prompts (as the hf: backend's does).
        sampling: decoding settings (default: deterministic).
        options: engine settings (:class:`VLLMOptions`).
        engine: an engine to use instead of loading :class:`VLLMEngine` (tests, custom servers).
    """

    def __init__(
        self,
        model: str,
        sampling: SamplingSettings = DETERMINISTIC,
        *,
        options: VLLMOptions | None = None,
        engine: GenerationEngine | None = None,
    ) -> None:
        from transformers import AutoConfig, AutoTokenizer

        self.options = options or VLLMOptions()
        self.sampling = sampling
        try:
            self.tokenizer = hub_from_pretrained(AutoTokenizer, model, self.options.revision)
            config = hub_from_pretrained(AutoConfig, model, self.options.revision)
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot load the extractor model {model!r} ({exc})") from exc
        configured = _generation_eos(model, self.options.revision, config)
        self.stop_ids = stop_token_ids(self.tokenizer, configured)
        self.identity = model_identity(
            "vllm", model, self.options.revision, getattr(config, "_commit_hash", None)
        )
        self.engine = engine if engine is not None else VLLMEngine(model, self.options)

    def render(self, prompt: str) -> str:
        return render_prompt(self.tokenizer, prompt)

    def requests(self, prompts: Sequence[str]) -> tuple[list[str], list[dict[str, Any]]]:
        """The engine's inputs for ``prompts``: rendered texts and sampling dicts, in order."""
        return [self.render(p) for p in prompts], [
            sampling_params(self.sampling, p, self.stop_ids) for p in prompts
        ]

    def generate(self, prompts: Sequence[str]) -> list[str | Exception]:
        """One engine call for all prompts (vLLM schedules them itself); if it fails, prompt by prompt,
        so one bad prompt is that prompt's error."""
        if not prompts:
            return []
        texts, params = self.requests(prompts)
        try:
            return list(self.engine.generate(texts, params))
        except (RuntimeError, ValueError):
            results: list[str | Exception] = []
            for text, param in zip(texts, params, strict=True):
                try:
                    results.extend(self.engine.generate([text], [param]))
                except (RuntimeError, ValueError) as exc:
                    results.append(exc)
            return results


def _generation_eos(model: str, revision: str | None, config: Any) -> int | list[int] | None:
    """The generation config's EOS ids (the hf: backend stops at these), else the model config's."""
    from transformers import GenerationConfig

    try:
        return hub_from_pretrained(GenerationConfig, model, revision).eos_token_id
    except (OSError, ValueError):
        return getattr(config, "eos_token_id", None)
