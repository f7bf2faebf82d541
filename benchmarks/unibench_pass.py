"""A whole MER-UniBench-sized pass of ``ovmer bench``: wall time per stage and in total.

Builds a MER2023-layout tree of ``--clips`` samples (each a link to the project's 6.8-s demo clip, so
media decoding is real work), then runs :func:`ovmer.bench.runner.run_bench` as ``ovmer bench`` does:
inference through the one runner (media decoded in worker threads, overlapped with generation),
label extraction, scoring under both protocols, reports. The stage times come from the run's own
``results.json`` (``seconds``); ``other`` is the rest of the wall time (model load, reports, charts). Issue 17's target: the 12,799-clip pass, generation plus extraction,
under 10 minutes on one H100/H200.

CPU smoke run (tiny random AffectGPT, offline lexicon extractor; about a minute):

    .venv/bin/python benchmarks/unibench_pass.py --clips 6 --tiny --assets ../shared/reference/emotion_wheel

Full size on one GPU, random weights (no download; the LLM extractor too, Qwen2.5-7B shapes):

    python benchmarks/unibench_pass.py --clips 12799 --extractor random-hf \\
        --model "affectgpt:random:affectgpt-frame?device=cuda&dtype=fp16&batch_size=64&max_new_tokens=32" \\
        --assets shared/reference/emotion_wheel --json benchmarks/gpu-runs/<date>-<gpu>/unibench_pass.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import SUBTITLE, UNIBENCH_CLIPS
from ovmer.assets import load_wheel_maps
from ovmer.atomic import write_json_atomic
from ovmer.bench.runner import run_bench
from ovmer.llm.extractor import LLMExtractor
from ovmer.llm.run import build_extractor

DEMO = Path(__file__).resolve().parents[1] / "src" / "ovmer" / "clues" / "demo" / "demo_clip.mp4"
EMOTIONS = ("happy", "sad", "angry", "worried", "surprise", "neutral")


def write_tree(root: Path, clips: int) -> list[str]:
    """``mer2023-dataset-process`` with ``clips`` test samples: labels, subtitles, one link per video."""
    folder = root / "mer2023-dataset-process"
    (folder / "video").mkdir(parents=True, exist_ok=True)
    names = [f"sample_{i:08d}" for i in range(clips)]
    corpus = {n: {"emo": EMOTIONS[i % len(EMOTIONS)], "val": 0.0} for i, n in enumerate(names)}
    np.savez_compressed(folder / "label-6way.npz", test1_corpus=np.array(corpus, dtype=object))
    rows = ["name,chinese,english"] + [f'{n},x,"{SUBTITLE}"' for n in names]
    (folder / "transcription-engchi-polish.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    for name in names:
        link = folder / "video" / f"{name}.mp4"
        if not link.exists():
            os.symlink(DEMO, link)
    return names


def tiny_model_spec(folder: Path) -> str:
    """``affectgpt:random:<tiny config>`` on the CPU (the CPU smoke run of this script)."""
    from ovmer.models.tiny import tiny_config

    tiny_config("frame").save_pretrained(folder)
    return f"affectgpt:random:{folder}?device=cpu&batch_size=4&max_new_tokens=8"


def extractor_for(choice: str, max_tokens: int, assets: Path | None) -> Any:
    """``lexicon`` / any extractor spec, or ``random-hf`` / ``random-vllm``: Qwen2.5-7B shapes with random
    weights (benchmarks/extractor.py), replies cut at ``max_tokens`` so the work is bounded."""
    if not choice.startswith("random-"):
        return build_extractor(choice, assets=assets, max_tokens=max_tokens, batch_size=64)
    import torch

    from extractor import hf_backend, model_folder
    from ovmer.llm.settings import SamplingSettings
    from ovmer.llm.vllm_backend import VLLMBackend, VLLMOptions

    folder = model_folder(Path(tempfile.mkdtemp(prefix="ovmer-qwen-")) / "qwen2.5-7b-shape", True, None)
    sampling = SamplingSettings(max_tokens=max_tokens)
    if choice == "random-vllm":
        backend: Any = VLLMBackend(
            str(folder), sampling, options=VLLMOptions(load_format="dummy", max_model_len=2048)
        )
    else:
        backend = hf_backend(folder, sampling, "cuda", torch.bfloat16)
        backend.batch_size = 64
    return LLMExtractor(backend)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=UNIBENCH_CLIPS)
    parser.add_argument(
        "--model",
        default=None,
        help="an ovmer bench model spec (default with --tiny: a tiny random AffectGPT)",
    )
    parser.add_argument("--tiny", action="store_true", help="tiny random AffectGPT on the CPU")
    parser.add_argument(
        "--extractor", default="lexicon", help="lexicon, an extractor spec, random-hf or random-vllm"
    )
    parser.add_argument("--extractor-max-tokens", type=int, default=48)
    parser.add_argument(
        "--assets", type=Path, default=None, help="emotion-wheel folder (else the ovmer cache)"
    )
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: a temporary one)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    print("command: python benchmarks/unibench_pass.py", *(argv if argv is not None else sys.argv[1:]))
    with tempfile.TemporaryDirectory(prefix="ovmer-pass-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        write_tree(work / "data", args.clips)
        tree_s = time.perf_counter() - started
        spec = args.model or (tiny_model_spec(work / "tiny-config") if args.tiny else None)
        if spec is None:
            parser.error("give --model SPEC or --tiny")
        maps = load_wheel_maps(args.assets)
        extractor = extractor_for(args.extractor, args.extractor_max_tokens, args.assets)
        out = args.out or work / "run"
        started = time.perf_counter()
        result = run_bench(
            spec, ["mer2023"], work / "data", out, extractor, maps, command="benchmarks/unibench_pass.py"
        )
        total_s = time.perf_counter() - started
        stages = json.loads((out / "results.json").read_text(encoding="utf-8"))["datasets"]["mer2023"][
            "seconds"
        ]
    run = result.datasets["mer2023"]
    report = {
        "clips": args.clips, "model": spec, "extractor": args.extractor, "answered": run.answered,
        "inference_failures": len(run.failures), "extraction_failures": len(run.extraction_failures),
        "tree_s": round(tree_s, 2), "stages_s": stages, "total_s": round(total_s, 2),
        "other_s": round(total_s - sum(stages.values()), 2),  # model load, run-folder reports and charts
        "clips_per_s": round(args.clips / total_s, 2),
        "unibench_minutes": round(UNIBENCH_CLIPS * total_s / args.clips / 60, 2),
    }  # fmt: skip
    other_s = total_s - sum(stages.values())
    for stage, seconds in [*stages.items(), ("other", other_s)]:
        rate = f"{args.clips / seconds:9.2f} clips/s" if seconds >= 1e-3 else "        -"
        print(f"{stage:>10}: {seconds:9.2f} s  ({rate})")
    print(f"{'total':>10}: {total_s:9.2f} s  ({report['clips_per_s']:9.2f} clips/s); "
          f"a 12,799-clip pass at this rate: {report['unibench_minutes']} min (target: 10)")  # fmt: skip
    print(f"answered {run.answered}/{args.clips}; failures: {report['inference_failures']} inference, "
          f"{report['extraction_failures']} extraction")  # fmt: skip
    if args.json:
        write_json_atomic(args.json, report)
    return 0 if run.answered == args.clips else 3


if __name__ == "__main__":
    sys.exit(main())
