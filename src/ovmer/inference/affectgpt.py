"""AffectGPT as an :class:`~ovmer.inference.protocol.AnswerModel`: the one adapter ``infer``,
``bench`` (``affectgpt:`` specs) and the coming server run it through."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovmer.data.registry import Sample
from ovmer.errors import OvmerError
from ovmer.inference.engine import AffectGPTEngine
from ovmer.inference.sample_inputs import SampleLoader
from ovmer.media.inputs import ModelInputs
from ovmer.models.fidelity import get_fidelity
from ovmer.models.generation import DecodingSettings
from ovmer.results.record import AnswerRecord


class AffectGPTAnswerer:
    """A loaded engine answering one task with fixed decoding settings.

    ``load`` reads a sample's inputs (``prepared`` cache first, see :class:`SampleLoader`);
    ``answer_batch`` generates for the whole batch in one call (greedy answers do not depend on
    the batch). Each record carries the inputs' provenance and the generated token count.
    """

    def __init__(
        self,
        engine: AffectGPTEngine,
        *,
        task: str = "ovlabels",
        decoding: DecodingSettings | None = None,
        batch_size: int = 8,
        strict_inputs: bool = False,
        prepared: str | os.PathLike[str] | None = None,
        dataset_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.task = task
        self.decoding = engine.decoding_settings(decoding)  # budget and EOS rule filled in
        self.batch_size = max(1, batch_size)
        self.strict_inputs = strict_inputs
        self.loader = SampleLoader(
            engine.model.config.visual_input, prepared, dataset_id, strict=strict_inputs
        )
        described = self.decoding.describe()
        if engine.fidelity.name != "clean":  # clean identities keep their earlier form
            described = {**described, "fidelity": engine.fidelity.name}
        if engine.generation != "transformers":  # another engine's numerics: never mixed on resume
            described = {**described, "generation": engine.generation}
        settings = ",".join(f"{k}={described[k]}" for k in sorted(described))
        self.identity = f"affectgpt:{engine.source}[{engine.model.config.name};{settings}]"

    def run_settings(self) -> dict[str, Any]:
        """What a results folder records about this model (and checks on resume)."""
        return {
            "model": self.engine.source,
            "config": self.engine.model.config.name,
            "task": self.task,
            "decoding": self.decoding.describe(),
            "fidelity": self.engine.fidelity.describe(),
            "strict_inputs": self.strict_inputs,
        }

    def load(self, sample: Sample) -> ModelInputs:
        return self.loader(sample)

    def answer_batch(self, items: Sequence[ModelInputs]) -> list[AnswerRecord | Exception]:
        responses = self.engine.respond(list(items), [x.subtitle for x in items], self.task, self.decoding)
        return [
            AnswerRecord(
                name="",
                text=response.text,
                inputs=item.provenance.to_json(),
                details={"generated_tokens": len(response.token_ids), "subtitle": item.subtitle or ""},
            )
            for item, response in zip(items, responses, strict=True)
        ]

    def close(self) -> None:
        self.loader.close()


@dataclass(frozen=True)
class AffectGPTOptions:
    """``key=value`` options of an ``affectgpt:`` spec (defaults: the OV-label task, greedy).

    ``max_new_tokens`` None means the model config's generation budget (the paper's 1200).
    ``fidelity=paper`` loads the model as upstream ran it and implies paper decoding and strict
    inputs unless ``decoding`` / ``strict_inputs`` are given (docs/model.md, "Fidelity settings").
    """

    config: str | None = None  # for an official .pth: affectgpt-face, affectgpt-frame or a model folder
    device: str = "auto"  # cuda when available
    dtype: str = "auto"  # fp16 on CUDA, fp32 on CPU
    fidelity: str = "clean"  # or "paper"
    decoding: str | None = None  # greedy or paper (top-k 20, top-p 0.9, T 1, seeded); default: the fidelity's
    seed: int = 0
    max_new_tokens: int | None = None
    batch_size: int = 8  # samples per generate call (greedy answers do not depend on it)
    strict_inputs: bool | None = None  # refuse to substitute a missing OpenFace array or wav
    generation: str = (
        "transformers"  # or "vllm": the LLM stage from prompt embeddings (inference.vllm_generation)
    )
    llm_export: str | None = (
        None  # generation=vllm: where the merged LLM is exported (default: the ovmer cache)
    )

    @classmethod
    def parse(cls, query: str) -> AffectGPTOptions:
        """``key=value&key=value`` → options, each value converted to the field's type."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for item in filter(None, query.split("&")):
            key, sep, value = item.partition("=")
            if not sep or key not in fields:
                raise OvmerError(
                    f"affectgpt spec option {item!r} is not key=value with a known key ({', '.join(fields)})"
                )
            values[key] = _convert(key, str(fields[key].type), value)
        options = cls(**values)
        if options.fidelity not in ("clean", "paper"):
            raise OvmerError(
                f"affectgpt spec option fidelity must be clean or paper, got {options.fidelity!r}"
            )
        if options.generation not in ("transformers", "vllm"):
            raise OvmerError(
                f"affectgpt spec option generation must be transformers or vllm, got {options.generation!r}"
            )
        if options.decoding not in (None, "greedy", "paper"):
            raise OvmerError(
                f"affectgpt spec option decoding must be greedy or paper, got {options.decoding!r}"
            )
        return options


def _convert(key: str, annotation: str, value: str) -> Any:
    if annotation.startswith("int"):
        try:
            return int(value)
        except ValueError:
            raise OvmerError(f"affectgpt spec option {key} must be an integer, got {value!r}") from None
    if annotation.startswith("bool"):
        if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise OvmerError(f"affectgpt spec option {key} must be true or false, got {value!r}")
        return value.lower() in ("true", "1", "yes")
    return value


def affectgpt_from_spec(argument: str) -> AffectGPTAnswerer:
    """``<model>[?key=value&…]`` (see :class:`AffectGPTOptions`) → a loaded answerer."""
    from ovmer.inference.engine import load_engine

    model, _, query = argument.partition("?")
    if not model:
        raise OvmerError(
            "model spec 'affectgpt:' needs a model: affectgpt:<model folder | HF id | file.pth?config=affectgpt-face>"
        )
    options = AffectGPTOptions.parse(query)
    changes: dict[str, Any] = {}
    if options.decoding is not None:
        changes["decoding"] = options.decoding
    if options.strict_inputs is not None:
        changes["strict_inputs"] = options.strict_inputs
    fidelity = get_fidelity(options.fidelity).replace(**changes)
    engine = load_engine(model, options.config, options.device, options.dtype, fidelity=fidelity)
    if options.generation == "vllm":
        from ovmer.inference.vllm_generation import use_vllm

        use_vllm(engine, Path(options.llm_export) if options.llm_export else None)
    decoding = fidelity.decoding_settings(seed=options.seed, max_new_tokens=options.max_new_tokens)
    return AffectGPTAnswerer(
        engine, decoding=decoding, batch_size=options.batch_size, strict_inputs=fidelity.strict_inputs
    )
