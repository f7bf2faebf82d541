"""What every transformers-native ``hf:`` adapter shares (video: :mod:`ovmer.baselines.hf`, audio:
:mod:`ovmer.baselines.hf_audio`): device and dtype, the checkpoint's chat template, the tokenizer set up
for batched generation, greedy or upstream's decoding, the run identity, one batched ``generate``
call and the answer records (docs/baselines.md, 'Supported transformers-native models').

Batched generation uses left padding, so every row continues from its own last token and greedy
answers do not depend on the batch size. Answers are saved as upstream saves them
(:func:`ovmer.baselines.prompts.clean_answer`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ovmer.baselines.prompts import clean_answer, prompt_sha256
from ovmer.baselines.spec import BaselineOptions, HFSpec, require_merger, resolve_modalities
from ovmer.data.registry import Sample
from ovmer.errors import BaselineSpecError, ModelError
from ovmer.media.inputs import ModelInputs, build_model_inputs
from ovmer.results.record import AnswerRecord

ProcessorsT = TypeVar("ProcessorsT")


class AdapterCore:
    """What every ``hf:`` adapter holds: the spec and its options, the loaded model and tokenizer,
    the chat template, the resolved modalities, the generation settings, the merger and the identity."""

    def set_up_core(
        self,
        spec: HFSpec,
        model: Any,
        tokenizer: Any,
        chat_template: str,
        *,
        model_type: str,
        supported: tuple[str, ...],
        paper_decoding: Any,
    ) -> None:
        self.spec = spec
        self.options = spec.options
        self.model = model
        self.tokenizer = tokenizer
        self.chat_template = chat_template
        self.modalities = resolve_modalities(self.options, supported, spec.source)
        self.batch_size = self.options.batch_size
        self.generate_kwargs = generate_kwargs(self.options, paper_decoding, model_type, spec.source)
        self.merger = build_merger(self.options)
        self.identity = run_identity(spec, model_type, self.modalities)
        self.model_type = model_type

    def run_settings(self) -> dict[str, Any]:
        """What a results folder records about this model (and checks on resume)."""
        return run_settings(self.spec, self.model_type, self.modalities, self.generate_kwargs)

    def load(self, sample: Sample) -> ModelInputs:
        """The sample's frames and audio through the one inputs builder (its provenance is recorded)."""
        return build_model_inputs(sample.media(), "frame", n_frames=self.options.frames)


def load_checkpoint(
    spec: HFSpec, model_class: str, load_processors: Callable[[Any], ProcessorsT]
) -> tuple[Any, Any, str, ProcessorsT]:
    """``spec``'s tokenizer, processors (``load_processors(transformers)``), model in its dtype on its
    device, and chat template: what every ``hf:`` loader reads, in this order.

    Raises:
        ModelError: the checkpoint cannot be read, naming it.
    """
    import transformers

    from ovmer.hub import dtype_kwarg, hub_from_pretrained

    device, dtype = resolve_device_dtype(spec.options)
    try:
        tokenizer = hub_from_pretrained(transformers.AutoTokenizer, spec.source, spec.revision)
        processors = load_processors(transformers)
        model_type = getattr(transformers, model_class)
        model = hub_from_pretrained(model_type, spec.source, spec.revision, **dtype_kwarg(dtype))
    except OSError as exc:
        raise ModelError(f"hf:{spec.source}: cannot load the checkpoint ({exc})") from None
    ready_for_batches(tokenizer)
    model.to(device).eval()
    return model, tokenizer, chat_template(spec.source, spec.revision, tokenizer), processors


def build_merger(options: BaselineOptions) -> Any:
    """The clue-merge extractor for ``subtitle=addsub`` (None otherwise)."""
    if not require_merger(options) or options.merger is None:
        return None
    from ovmer.llm.run import build_extractor

    return build_extractor(options.merger)


def chat_template(source: str, revision: str | None, tokenizer: Any) -> str:
    """The checkpoint's chat template: the processor's (``chat_template.jinja`` / ``.json``), else the
    tokenizer's. Raises :class:`~ovmer.errors.ModelError` when there is none."""
    import json

    from transformers.utils import cached_file

    from ovmer.hub import hub_offline_mode

    for name in ("chat_template.jinja", "chat_template.json"):
        path = cached_file(
            source,
            name,
            revision=revision,
            local_files_only=hub_offline_mode(),
            _raise_exceptions_for_missing_entries=False,
        )
        if path:
            text = Path(path).read_text(encoding="utf-8")
            return str(json.loads(text)["chat_template"]) if name.endswith(".json") else text
    if getattr(tokenizer, "chat_template", None):
        return str(tokenizer.chat_template)
    raise ModelError(
        f"{source}: no chat template (chat_template.jinja, chat_template.json or the tokenizer's)"
    )


def resolve_device_dtype(options: BaselineOptions) -> tuple[str, Any]:
    """``device``/``dtype`` options → (device, torch dtype): ``auto`` is fp16 on CUDA, fp32 on CPU."""
    import torch

    device = options.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if options.dtype == "auto":
        return device, torch.float16 if device.startswith("cuda") else torch.float32
    dtype = getattr(torch, options.dtype, None)
    if not isinstance(dtype, torch.dtype):
        raise BaselineSpecError(
            f"hf spec option dtype must be a torch dtype (float16, bfloat16, float32), got {options.dtype!r}"
        )
    return device, dtype


def ready_for_batches(tokenizer: Any) -> Any:
    """Left padding (batched generation continues every row from its last token) and a pad token."""
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def generate_kwargs(
    options: BaselineOptions, paper_decoding: dict[str, Any] | None, model_type: str, source: str
) -> dict[str, Any]:
    """``generate`` settings: greedy, or upstream's for this model (``decoding=paper``; an error where
    upstream did not run it). The budget is the spec's ``max_new_tokens`` (its default is the paper's)."""
    if options.decoding == "greedy":
        return {"do_sample": False, "num_beams": 1, "max_new_tokens": options.max_new_tokens}
    if paper_decoding is None:
        raise BaselineSpecError(
            f"decoding=paper: upstream did not run {model_type} ({source}), so there "
            "are no paper settings for it; use decoding=greedy"
        )
    return {**paper_decoding, "max_new_tokens": options.max_new_tokens}


def run_identity(spec: HFSpec, model_type: str, modalities: Sequence[str]) -> str:
    """The run's model identity: source, revision, model type and every option that changes answers."""
    described = {**spec.options.describe(), "modalities": "".join(modalities)}
    settings = ",".join(f"{k}={described[k]}" for k in sorted(described) if described[k] is not None)
    revision = f"@{spec.revision}" if spec.revision else ""
    return f"hf:{spec.source}{revision}[{model_type};{settings}]"


def run_settings(
    spec: HFSpec, model_type: str, modalities: Sequence[str], generate: dict[str, Any]
) -> dict[str, Any]:
    """What a results folder records about an ``hf:`` model (and checks on resume)."""
    return {
        "model": spec.source,
        "revision": spec.revision,
        "model_type": model_type,
        **spec.options.describe(),
        "modalities": "".join(modalities),
        "generate": generate,
    }


def generate_answers(
    model: Any, tokenizer: Any, batch: dict[str, Any], settings: dict[str, Any], seed: int
) -> tuple[list[str], list[int]]:
    """One batched ``generate`` call → (cleaned answers, generated token counts per row).

    ``batch`` holds the left-padded ``input_ids``/``attention_mask`` and the model's media tensors, already
    on the model's device; sampled decoding seeds torch with ``seed`` first.
    """
    import torch

    if settings.get("do_sample"):
        torch.manual_seed(seed)
    with torch.inference_mode():
        output = model.generate(**batch, **settings)
    new_tokens = output[:, batch["input_ids"].shape[1] :]  # (B, new)
    answers = [clean_answer(t) for t in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
    pad = tokenizer.pad_token_id
    counts = [int((row != pad).sum()) if pad is not None else len(row) for row in new_tokens]
    return answers, counts


def answer_records(
    items: Sequence[ModelInputs],
    answers: list[str],
    details: list[dict[str, Any]],
    merger: Any,
) -> list[AnswerRecord | Exception]:
    """Answer records with the builder's provenance and each row's ``details``; with ``subtitle=addsub``
    (``merger``) each answer is merged with its subtitle (:func:`merge_with_subtitles`)."""
    records: list[AnswerRecord | Exception] = [
        AnswerRecord(name="", text=answer, inputs=item.provenance.to_json(), details=row)
        for item, answer, row in zip(items, answers, details, strict=True)
    ]
    return merge_with_subtitles(records, [item.subtitle or "" for item in items], merger)


def merge_with_subtitles(
    records: list[AnswerRecord | Exception], subtitles: list[str], merger: Any
) -> list[AnswerRecord | Exception]:
    """``subtitle=addsub`` (upstream's ``nosubtitle-addsub``, OV-MER/merge.py): each no-subtitle answer
    is merged with its sample's subtitle by the clue-merge prompt; the answer is kept as
    ``details.clue`` and a failed merge is that sample's error. ``merger`` None returns ``records``.

    Shared by the ``hf:`` adapters and the ``openai:`` endpoints, so both record the same shape.
    """
    if merger is None:
        return records
    done = [(i, record) for i, record in enumerate(records) if isinstance(record, AnswerRecord)]
    answers = [record.text or "" for _, record in done]
    merged = list(merger.merge(answers, [subtitles[i] for i, _ in done])) if done else []
    out = list(records)
    for (i, record), final in zip(done, merged, strict=True):
        out[i] = (
            final
            if isinstance(final, Exception)
            else dataclasses.replace(
                record, text=final, details={**(record.details or {}), "clue": record.text}
            )
        )
    return out


def prompt_details(
    options: BaselineOptions, modalities: Sequence[str], question: str, prompt: str, generated: int
) -> dict[str, Any]:
    """The ``details`` every ``hf:`` answer records: hashes of the question and of the chat text (before
    media placeholders are expanded), subtitle variant, modalities, decoding and generated tokens."""
    return {
        "question_sha256": prompt_sha256(question),
        "prompt_sha256": prompt_sha256(prompt),
        "subtitle_variant": options.subtitle,
        "modalities": "".join(modalities),
        "decoding": options.decoding,
        "generated_tokens": generated,
    }
