"""AffectGPT inference speed and peak memory for batch sizes 1..N.

Run (tiny random model on CPU, a minute or so):

    .venv/bin/python benchmarks/inference.py --max-batch 4 --new-tokens 16

Full size on one GPU with random weights (no download; Qwen2.5-7B shapes, fp16 LLM, fp16 autocast
encoders), the setting of the "MER-UniBench in under an hour" target:

    python benchmarks/inference.py --full-size --device cuda --dtype fp16 --max-batch 64 --new-tokens 32

``--generation vllm`` (or ``both``, in the same run) times the LLM stage under vLLM from prompt
embeddings (``ovmer.inference.vllm_generation``; needs ``pip install vllm``); the merged LLM is exported
to a temporary folder first (about 15 GB at full size):

    python benchmarks/inference.py --full-size --device cuda --dtype fp16 --max-batch 128 --new-tokens 32 \
        --generation both

The stop rule is disabled, so every sample generates exactly ``--new-tokens`` tokens (OV-label answers
are typically ~15–30 tokens; the released models stop at ``###``). Media decoding is excluded (inputs are
synthetic); `ovmer infer` overlaps decoding with generation in a background thread.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from _common import SUBTITLE, UNIBENCH_CLIPS, best_of
from ovmer.inference.engine import AffectGPTEngine, random_engine
from ovmer.inference.vllm_generation import VLLMEmbedsEngine, VLLMGenerationOptions, export_llm, use_vllm
from ovmer.media.inputs import ModelInputs
from ovmer.models.generation import DecodingSettings, StopRule
from ovmer.models.loading import DTYPES, LoadedModel, load_model
from ovmer.models.modeling_affectgpt import AffectGPTModel
from ovmer.models.processing_affectgpt import AffectGPTProcessor
from ovmer.models.tiny import tiny_config, tiny_tokenizer


def tiny_engine(visual: str) -> AffectGPTEngine:
    tokenizer = tiny_tokenizer()
    config = tiny_config(visual, tokenizer)  # type: ignore[arg-type]
    torch.manual_seed(0)
    model = AffectGPTModel(config).eval()
    model.merge_lora()
    return AffectGPTEngine(LoadedModel(model, AffectGPTProcessor(tokenizer, config), "tiny-random"))


def full_size_engine(
    visual: str, device: str, dtype: torch.dtype, llm_layers: int | None = None
) -> AffectGPTEngine:
    """Released architecture with random weights, built directly on the device (fp16/bf16 LLM)."""
    name = next(k for k, v in DTYPES.items() if v == dtype)
    return random_engine(f"affectgpt-{visual}", device, name, llm_layers=llm_layers)


def synthetic_inputs(n: int, visual: str) -> list[ModelInputs]:
    rng = np.random.default_rng(0)
    inputs = []
    for _ in range(n):
        pixels = rng.integers(0, 255, (8, 224, 224, 3), dtype=np.uint8)
        audio = (0.1 * rng.standard_normal((8, 32000))).astype(np.float32)
        inputs.append(ModelInputs(audio=audio, frames=pixels, faces=pixels, subtitle=SUBTITLE))
    return inputs


class FixedLengthEmbedsEngine(VLLMEmbedsEngine):
    """vLLM with every answer exactly ``max_tokens`` long, as the transformers rows (stop rule off)."""

    def generate(self, prompt_embeds: list[torch.Tensor], params: list[dict[str, Any]]) -> list[list[int]]:
        forced = [{**p, "stop_token_ids": [], "ignore_eos": True, "min_tokens": 0} for p in params]
        return super().generate(prompt_embeds, forced)


def switch_to_vllm(engine: AffectGPTEngine, folder: Path) -> None:
    export = folder / "llm"
    export_llm(engine.model, engine.processor.tokenizer, export, engine.source)
    use_vllm(engine, export, embeds_engine=FixedLengthEmbedsEngine(export, VLLMGenerationOptions()))


def measure(
    engine: AffectGPTEngine, batch: int, visual: str, new_tokens: int, repeats: int
) -> dict[str, Any]:
    device = engine.model.device
    inputs = synthetic_inputs(batch, visual)
    settings = DecodingSettings(max_new_tokens=new_tokens)
    engine.respond(inputs, [SUBTITLE] * batch, "ovlabels", DecodingSettings(max_new_tokens=2))  # warm-up
    best, out, peak = best_of(
        lambda: engine.respond(inputs, [SUBTITLE] * batch, "ovlabels", settings),
        repeats,
        device.type == "cuda",
    )
    generated = sum(len(r.token_ids) for r in out)
    return {
        "batch": batch,
        "samples_per_s": batch / best,
        "tokens_per_s": generated / best,
        "peak_mib": peak / 2**20,
        "unibench_hours": UNIBENCH_CLIPS / (batch / best) / 3600,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-batch", type=int, default=4, help="measure batch sizes 1, 2, 4, … up to this")
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per batch size (best is kept)")
    parser.add_argument("--visual", choices=["frame", "face"], default="frame")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    parser.add_argument(
        "--full-size", action="store_true", help="released architecture, random weights (GPU)"
    )
    parser.add_argument(
        "--llm-layers", type=int, help="with --full-size: keep N LLM layers (CPU smoke test of the path)"
    )
    parser.add_argument("--model", help="benchmark a saved/converted model folder instead")
    parser.add_argument(
        "--generation", choices=["transformers", "vllm", "both"], default="transformers",
        help="the LLM stage: ovmer's batched transformers loop, vLLM from prompt embeddings, or both",
    )  # fmt: skip
    args = parser.parse_args(argv)
    print("command:", " ".join([os.path.relpath(sys.argv[0]), *sys.argv[1:]]) if argv is None else argv)
    torch.set_grad_enabled(False)
    if args.model:
        engine = AffectGPTEngine(load_model(args.model, device=args.device, dtype=args.dtype))
    elif args.full_size:
        engine = full_size_engine(args.visual, args.device, DTYPES[args.dtype], args.llm_layers)
    else:
        engine = tiny_engine(args.visual)
        engine.model.to(args.device)
    # Never stop early: every sample generates exactly --new-tokens tokens, so batch sizes compare fairly.
    engine.stop = StopRule((-1,), -1, -1, -1)
    name = engine.source
    device_name = (
        torch.cuda.get_device_name()
        if engine.model.device.type == "cuda"
        else f"CPU ({os.cpu_count()} cores)"
    )
    print(
        f"model: {name}; device: {device_name}; dtype: {args.dtype}; new tokens per sample: {args.new_tokens}"
    )
    passes = ["transformers", "vllm"] if args.generation == "both" else [args.generation]
    with tempfile.TemporaryDirectory(prefix="ovmer-vllm-export-") as tmp:
        for generation in passes:
            if generation == "vllm":
                switch_to_vllm(engine, Path(tmp))
            if passes != ["transformers"]:  # the default table keeps its one-header form
                print(f"generation: {generation}")
            print(f"{'batch':>5} {'samples/s':>10} {'tokens/s':>10} {'peak MiB':>10} {'UniBench h':>11}")
            batch = 1
            while batch <= args.max_batch:
                row = measure(engine, batch, args.visual, args.new_tokens, args.repeats)
                print(
                    f"{row['batch']:>5} {row['samples_per_s']:>10.2f} {row['tokens_per_s']:>10.1f} "
                    f"{row['peak_mib']:>10.0f} {row['unibench_hours']:>11.2f}",
                    flush=True,
                )
                batch *= 2


if __name__ == "__main__":
    main()
