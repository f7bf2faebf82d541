"""Label-extraction (step A) speed: the transformers backend against the vLLM backend, same prompts.

A MER-UniBench pass asks the extractor one step-A prompt per answer (12,799) and one step-B prompt per
sentiment sample; this script times ``generate`` on ``--prompts`` step-A prompts built from synthetic
AffectGPT-style descriptions and prints prompts/s, tokens/s and the hours for a whole pass. Both
backends get the same rendered prompts and settings (:mod:`ovmer.llm.local_model`); every reply is
forced to ``--max-tokens`` tokens (EOS ignored), so the engines do the same work.

CPU smoke run (tiny random Qwen2, transformers only; about 20 s):

    .venv/bin/python benchmarks/extractor.py --prompts 16 --max-tokens 8 --batch-sizes 4,16

Full size on one GPU with random weights (Qwen2.5-7B shapes, bf16; vLLM with ``load_format=dummy``,
transformers initialised on the device; the tokenizer is trained on the fly, no download):

    python benchmarks/extractor.py --full-size --device cuda --prompts 512 --max-tokens 64 \\
        --batch-sizes 8,32,128 --engines hf,vllm --json benchmarks/gpu-runs/<date>-<gpu>/extractor.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from _common import UNIBENCH_CLIPS
from ovmer.atomic import write_json_atomic
from ovmer.errors import BackendError
from ovmer.llm.backends import HFChatBackend
from ovmer.llm.prompts import ovlabels_prompt
from ovmer.llm.settings import SamplingSettings
from ovmer.llm.vllm_backend import VLLMBackend, VLLMEngine, VLLMOptions
from ovmer.models.configuration_affectgpt import AffectGPTConfig
from ovmer.models.tiny import tiny_tokenizer

TINY_SHAPE = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 2, "vocab_size": 512}  # fmt: skip
PHRASES = [
    "In the video, the character's facial expression shows a slight frown and tight lips,",
    "the tone of voice is low and trembling, suggesting worry and some sadness;",
    "in the subtitle he says he has no experience in this area, which hints at anxiety,",
    "so overall the character likely feels nervous, worried and a little embarrassed.",
]


def descriptions(count: int) -> list[str]:
    """AffectGPT-like descriptions (~70 words), each one distinct so no prefix cache hides work."""
    return [f"Clip {i}: " + " ".join(PHRASES[(i + k) % len(PHRASES)] for k in range(4)) for i in range(count)]


def model_folder(folder: Path, full_size: bool, layers: int | None) -> Path:
    """A Qwen2 folder without weights: tokenizer (trained on the fly), config, generation config."""
    from transformers import GenerationConfig, Qwen2Config

    tokenizer = tiny_tokenizer()
    tokenizer.save_pretrained(folder)
    shape = (
        dict(AffectGPTConfig.from_pretrained("affectgpt-face").text_config) if full_size else dict(TINY_SHAPE)
    )
    if layers is not None:
        shape["num_hidden_layers"] = layers
    stops = [tokenizer.convert_tokens_to_ids("<|im_end|>"), tokenizer.convert_tokens_to_ids("<|endoftext|>")]
    shape.update(eos_token_id=stops[0], bos_token_id=None, pad_token_id=stops[1], torch_dtype="bfloat16")
    shape.pop("architectures", None)
    Qwen2Config(**{k: v for k, v in shape.items() if k != "model_type"}).save_pretrained(folder)
    GenerationConfig(eos_token_id=stops, pad_token_id=stops[1]).save_pretrained(folder)
    return folder


def hf_backend(folder: Path, sampling: SamplingSettings, device: str, dtype: torch.dtype) -> HFChatBackend:
    """Random weights initialised on the device (a 7B model in seconds, no weights file)."""
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config.from_pretrained(folder)
    with torch.device(device):
        model = Qwen2ForCausalLM(config).to(dtype)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    return HFChatBackend.from_objects(model, tokenizer, sampling, identity=f"hf:random:{folder.name}")


class FixedLengthEngine(VLLMEngine):
    """vLLM with every reply forced to ``max_tokens`` (EOS ignored) and no detokenisation of random ids."""

    def generate(self, texts: list[str], params: list[dict[str, Any]]) -> list[str]:
        forced = [{**p, "ignore_eos": True, "detokenize": False} for p in params]
        return super().generate(texts, forced)


def time_hf(
    folder: Path, prompts: list[str], args: argparse.Namespace, sampling: SamplingSettings
) -> list[dict]:
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
    backend = hf_backend(folder, sampling, args.device, dtype)
    backend.model.generation_config.min_new_tokens = args.max_tokens  # EOS ignored: equal work
    rows = []
    for batch in args.batch_sizes:
        backend.batch_size = batch
        backend.generate(prompts[: min(batch, len(prompts))])  # warm-up
        rows.append(_timed("hf", batch, lambda: backend.generate(prompts), prompts, args))
    return rows


def time_vllm(
    folder: Path, prompts: list[str], args: argparse.Namespace, sampling: SamplingSettings
) -> list[dict]:
    options = VLLMOptions(load_format="dummy", dtype="bfloat16", max_model_len=2048)
    backend = VLLMBackend(
        str(folder), sampling, options=options, engine=FixedLengthEngine(str(folder), options)
    )
    backend.generate(prompts[:8])  # warm-up (CUDA graphs are captured at load)
    return [_timed("vllm", None, lambda: backend.generate(prompts), prompts, args)]


def _timed(engine: str, batch: int | None, run: Any, prompts: list[str], args: argparse.Namespace) -> dict:
    if args.device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    replies = run()
    if args.device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    failed = sum(isinstance(r, Exception) for r in replies)
    per_s = len(prompts) / seconds
    row = {"engine": engine, "batch_size": batch, "prompts": len(prompts), "seconds": round(seconds, 3),
           "prompts_per_s": round(per_s, 2), "new_tokens_per_s": round(per_s * args.max_tokens, 1),
           "failed": failed, "unibench_step_a_minutes": round(UNIBENCH_CLIPS / per_s / 60, 2)}  # fmt: skip
    print(f"{engine:5} batch {batch or 'auto':>4}: {row['prompts_per_s']:8.2f} prompts/s, "
          f"{row['new_tokens_per_s']:9.1f} new tokens/s, {failed} failed, "
          f"MER-UniBench step A in {row['unibench_step_a_minutes']} min")  # fmt: skip
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full-size", action="store_true", help="Qwen2.5-7B shapes (else a tiny Qwen2)")
    parser.add_argument("--layers", type=int, default=None, help="keep only the first N decoder layers")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--batch-sizes", default="8,32", help="hf: prompts per generate call")
    parser.add_argument("--engines", default="hf", help="comma list of hf, vllm")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    engines = args.engines.split(",")
    print("command:", "python benchmarks/extractor.py", *(argv if argv is not None else sys.argv[1:]))
    prompts = [ovlabels_prompt(text) for text in descriptions(args.prompts)]
    sampling = SamplingSettings(max_tokens=args.max_tokens)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="ovmer-extractor-") as tmp:
        folder = model_folder(
            Path(tmp) / ("qwen2.5-7b-shape" if args.full_size else "tiny-qwen2"), args.full_size, args.layers
        )
        if "hf" in engines:
            rows += time_hf(folder, prompts, args, sampling)
        if "vllm" in engines:
            try:
                rows += time_vllm(folder, prompts, args, sampling)
            except BackendError as exc:  # no vLLM on this machine: say so, keep the hf rows
                print(f"vllm: not measured ({exc})", file=sys.stderr)
                if args.json:
                    write_json_atomic(args.json, {"rows": rows, "vllm_error": str(exc)})
                return 2
    best = {e: max((r["prompts_per_s"] for r in rows if r["engine"] == e), default=None) for e in engines}
    if best.get("hf") and best.get("vllm"):
        print(f"vllm / hf (best batch): {best['vllm'] / best['hf']:.2f}x")
    report = {"device": args.device, "full_size": args.full_size, "layers": args.layers, "max_tokens": args.max_tokens,
              "rows": rows, "best_prompts_per_s": best}  # fmt: skip
    if args.json:
        write_json_atomic(args.json, report)
    print(json.dumps(best))
    return 0


if __name__ == "__main__":
    sys.exit(main())
