"""Training speed: step time and samples/s with and without the frozen-encoder feature cache.

CPU, tiny model (default; a few minutes at most)::

    .venv/bin/python benchmarks/train.py

Full size on a GPU (backbones from the Hugging Face cache; synthetic clips unless data.* is given)::

    python benchmarks/train.py --config mercaptionplus-face --device cuda --steps 30 --warmup 5 \\
        --peak-tflops 989 run.batch_size=3

With ``--random-weights`` the full-size model is built on the GPU with random weights and the tiny
tokenizer (nothing downloaded; ``model.weights=random_full``). Synthetic descriptions are
``--description-words`` long (default 120: an assumed paragraph-length MER-Caption+ description), and
the report gives the tokens per sample actually processed, since MFU depends on sequence length.

It prints a table and writes ``benchmarks/results/train-<config>.json``. MFU is reported for the LLM
step only, with the usual 6·N·tokens convention (N = LLM parameters incl. LoRA, without the input
embedding table, which is a lookup) and with the 4·N count that LoRA training actually performs (no
weight gradients for the frozen base). Attention's own FLOPs are not counted (small at these lengths).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch


def _run(config: str, overrides: list[str], steps: int, out: Path) -> Any:
    from accelerate.state import AcceleratorState

    from ovmer.train.config import load_train_config
    from ovmer.train.recipe import train

    AcceleratorState._reset_state(reset_partial_state=True)
    cfg = load_train_config(
        config,
        [
            *overrides,
            f"run.output_dir={out}",
            f"run.max_steps={steps}",
            "run.resume=never",
            "run.progress=false",
            f"run.iters_per_epoch={steps + 1}",  # no checkpoint inside the timed steps
            f"run.log_every={steps}",
            "run.save_initial_checkpoint=false",
        ],
    )
    return cfg, train(cfg)


def _summary(result: Any, warmup: int, world: int = 1) -> dict[str, float]:
    times = result.step_times[warmup:]
    tokens = result.tokens_per_step[warmup:]
    total = sum(times)
    return {
        "steps_timed": len(times),
        "step_time_median_s": statistics.median(times),
        "step_time_mean_s": total / len(times),
        "samples_per_s": result.samples_per_step * len(times) / total,
        "tokens_per_s": sum(tokens) * world / total,
        "tokens_per_sample": sum(tokens) / (result.samples_per_step * len(times)),
    }


def _profiler() -> Any:
    activities = [torch.profiler.ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    return torch.profiler.profile(activities=activities)


def _write_profile(profiler: Any, path: Path) -> None:
    """Operators of the cached run (model build included) by their own device time, then CPU time."""
    averages = profiler.key_averages()
    tables = []
    for key in ("self_device_time_total", "self_cuda_time_total", "self_cpu_time_total"):
        try:
            tables.append(f"sorted by {key}\n" + averages.table(sort_by=key, row_limit=40))
        except (AttributeError, KeyError, ValueError):
            continue
    path.write_text("\n\n".join(tables) + "\n", encoding="utf-8")
    print(f"profile written to {path}")


def _llm_parameters(config: str, overrides: list[str]) -> int:
    from ovmer.models.configuration_affectgpt import AffectGPTConfig
    from ovmer.models.loading import meta_model
    from ovmer.models.tiny import tiny_config
    from ovmer.train.config import load_train_config

    model_section = load_train_config(config, overrides).model
    mcfg = AffectGPTConfig.from_pretrained(model_section.config)
    if model_section.weights == "random_tiny":
        mcfg = tiny_config(mcfg.visual_input)
    if model_section.weights == "random_full" and model_section.random_llm_layers:
        mcfg.text_config = {**mcfg.text_config, "num_hidden_layers": model_section.random_llm_layers}
    llm = meta_model(mcfg).llm
    # The input embedding is a lookup, not a matrix product: it does no FLOPs per token.
    return sum(p.numel() for p in llm.parameters()) - llm.get_input_embeddings().weight.numel()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default="tiny-face")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=2, help="untimed first steps")
    parser.add_argument("--samples", type=int, default=12, help="synthetic clips when no data.* override")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--peak-tflops", type=float, default=None, help="accelerator peak (H100 bf16/fp16 dense: 989)"
    )
    parser.add_argument("--no-cache-run", action="store_true", help="skip the run without the cache")
    parser.add_argument(
        "--random-weights", action="store_true", help="full-size architecture, random weights (no download)"
    )
    parser.add_argument(
        "--llm-layers", type=int, help="with --random-weights: keep N LLM layers (CPU smoke test)"
    )
    parser.add_argument(
        "--description-words", type=int, default=120, help="length of the synthetic descriptions"
    )
    parser.add_argument("--profile", type=Path, help="write a torch.profiler table of the cached run here")
    parser.add_argument("--out", type=Path, help="report JSON (default benchmarks/results/train-CONFIG.json)")
    parser.add_argument("overrides", nargs="*", help="section.key=value overrides")
    args = parser.parse_args()

    from ovmer.train.config import load_train_config
    from ovmer.train.data import filter_by_length
    from ovmer.train.features import encoder_fingerprint, extract_features
    from ovmer.train.model import build_model
    from ovmer.train.recipe import build_samples
    from ovmer.train.synthetic import write_synthetic_dataset

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="ovmer-bench-train-"))
    overrides = list(args.overrides)
    if not any(o.startswith(("data.root=", "data.dataset=")) for o in overrides):
        manifest = write_synthetic_dataset(
            work / "data", args.samples, seed=0, description_words=args.description_words
        )
        overrides += [f"data.dataset=csv:{manifest}", "data.num_workers=0"]
    if args.random_weights:
        overrides.append("model.weights=random_full")
        if args.llm_layers:
            overrides.append(f"model.random_llm_layers={args.llm_layers}")
    if args.device == "cpu":
        overrides += ["run.cpu=true", "run.mixed_precision=no"]
    clean = [*overrides, "model.encoders_train_mode=false", "model.audio_normalization=per_sample"]

    cfg = load_train_config(args.config, clean)
    t0 = time.perf_counter()
    built = build_model(cfg, torch.device(args.device))
    samples, _ = filter_by_length(build_samples(cfg), built.processor, cfg.data.tasks, cfg.data.max_length)
    counts = extract_features(
        built.model, built.processor, samples, work / "cache",
        encoder_fingerprint(built.model, built.local_backbones), progress=False,
    )  # fmt: skip
    if counts["failed"]:  # timing a run whose samples are all skipped would report nonsense
        raise SystemExit(f"feature extraction failed for {counts['failed']} of {len(samples)} clips")
    extract_s = time.perf_counter() - t0
    tokenizer = built.processor.tokenizer.name_or_path or "tiny, trained on the fly"
    del built

    report: dict[str, Any] = {
        "config": args.config,
        "device": torch.cuda.get_device_name()
        if args.device.startswith("cuda")
        else f"cpu ({os.cpu_count()} cores)",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "overrides": overrides,
        "tokenizer": tokenizer,
        "feature_extraction_s": extract_s,
        "samples": len(samples),
    }
    if not args.no_cache_run:
        _, plain = _run(args.config, clean, args.steps, work / "plain")
        report["without_cache"] = _summary(plain, args.warmup)
    profiler = _profiler() if args.profile else contextlib.nullcontext()
    with profiler:
        _, cached = _run(
            args.config, [*clean, f"data.feature_cache={work / 'cache'}"], args.steps, work / "cached"
        )
    if args.profile:
        _write_profile(profiler, args.profile)
    report["with_cache"] = _summary(cached, args.warmup)
    if "without_cache" in report:
        report["speedup"] = (
            report["without_cache"]["step_time_median_s"] / report["with_cache"]["step_time_median_s"]
        )
    n = _llm_parameters(args.config, clean)
    report["llm_parameters"] = n
    if args.device.startswith("cuda"):
        report["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    if args.peak_tflops:
        tps = report["with_cache"]["tokens_per_s"]
        report["mfu_6N"] = 6 * n * tps / (args.peak_tflops * 1e12)
        report["mfu_4N_lora"] = 4 * n * tps / (args.peak_tflops * 1e12)

    out = args.out or Path(__file__).parent / "results" / f"train-{args.config}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        f"device {report['device']}, torch {report['torch']}, {report['threads']} threads; {args.steps} steps, {args.warmup} untimed"
    )
    print(f"tokenizer: {tokenizer}; feature extraction for {len(samples)} clips: {extract_s:.1f} s")
    for key in ("without_cache", "with_cache"):
        if key in report:
            r = report[key]
            print(
                f"{key:14s} step {r['step_time_median_s'] * 1000:8.1f} ms (median)  "
                f"{r['samples_per_s']:8.2f} samples/s  {r['tokens_per_s']:10.1f} tokens/s  "
                f"{r['tokens_per_sample']:6.0f} tokens/sample"
            )
    if "speedup" in report:
        print(f"cache speed-up: {report['speedup']:.2f}x")
    if "mfu_6N" in report:
        print(f"MFU (LLM, 6N): {report['mfu_6N']:.1%}   (4N LoRA count: {report['mfu_4N_lora']:.1%})")
    print(f"written {out}")


if __name__ == "__main__":
    main()
