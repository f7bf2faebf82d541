"""What ``--ray`` costs per sample on one machine: the same job with and without Ray, one run each.

Two jobs on N copies of the project's demo clip (``src/ovmer/clues/demo/demo_clip.mp4``, 3.5 s,
with a subtitle so no ASR runs):

* ``answers`` — the clue engine (``--model clues``) through :func:`ovmer.inference.runner.run_answers`
  here, and through :func:`ovmer.cluster.run_answers_on_ray` with one model actor;
* ``prepare`` — :func:`ovmer.data.prepare.prepare_dataset` with ``workers=1`` here, and with the Ray
  executor and one actor.

Each job runs on 1 clip and on N clips, here and on Ray, so the Ray figures split into a fixed cost
(``ray_1 - local_1``: building the model on a worker, starting the actor pipeline and a cold actor) and a
per-sample cost (``((ray_N - ray_1) - (local_N - local_1)) / (N - 1)``: what each further sample
pays for the trip through Ray Data). One untimed warm-up of each path runs first. The cluster is a local one started by ``ray.init`` for the run
(``--cpus``, default 2: one for the actor, one for the pipeline's own work); with one actor the Ray run
uses as many cores for the model as the local run.

Run: ``.venv/bin/python benchmarks/ray_overhead.py [--clips 16] [--cpus 2] [--json FILE]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src" / "ovmer" / "clues" / "demo" / "demo_clip.mp4"
SUBTITLE = "I don't know! I, I, I don't have experience in this area."


def _manifest(folder: Path, clips: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["name,video,audio,subtitle"]
    for i in range(clips):
        target = folder / f"clip_{i:04d}.mp4"
        if not target.exists():
            os.link(DEMO, target)
        lines.append(f'clip_{i:04d},{target},,"{SUBTITLE}"')
    path = folder / "clips.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _timed(job: Callable[[], object]) -> float:
    started = time.perf_counter()
    job()
    return time.perf_counter() - started


def measure(clips: int, cpus: int, work: Path) -> dict[str, dict[str, float]]:
    """Seconds of each job on 1 and on ``clips`` samples, here and on Ray, and the derived costs."""
    import ray

    from ovmer.cluster import SpecRecipe, ray_prepare_executor, run_answers_on_ray
    from ovmer.data.prepare import prepare_dataset
    from ovmer.data.registry import load_samples
    from ovmer.inference.model_table import build_answer_model
    from ovmer.inference.runner import run_answers

    samples = load_samples(None, f"csv:{_manifest(work / 'clips', clips)}")
    figures: dict[str, dict[str, float]] = {}
    ray.init(num_cpus=cpus, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    try:
        # Warm-up, not timed: this process's engine models and Ray's worker processes exist afterwards,
        # so the timed runs differ only in what each call does (a model actor still starts cold).
        run_answers(
            build_answer_model("clues"), samples[:1], work / "warm-local", dataset="demo", show_progress=False
        )
        run_answers_on_ray(
            SpecRecipe("clues"), samples[:1], work / "warm-ray", dataset="demo", actors=1, show_progress=False
        )
        prepare_dataset(samples[:1], work / "warm-prep", executor=ray_prepare_executor(actors=1))
        for n in (1, clips):
            todo = samples[:n]
            figures.setdefault("answers", {})[f"local_{n}"] = _timed(
                lambda todo=todo, n=n: run_answers(
                    build_answer_model("clues"),
                    todo,
                    work / f"local-{n}",
                    dataset="demo",
                    show_progress=False,
                )
            )
            figures["answers"][f"ray_{n}"] = _timed(
                lambda todo=todo, n=n: run_answers_on_ray(
                    SpecRecipe("clues"),
                    todo,
                    work / f"ray-{n}",
                    dataset="demo",
                    actors=1,
                    show_progress=False,
                )
            )
            figures.setdefault("prepare", {})[f"local_{n}"] = _timed(
                lambda todo=todo, n=n: prepare_dataset(todo, work / f"prep-local-{n}", workers=1)
            )
            figures["prepare"][f"ray_{n}"] = _timed(
                lambda todo=todo, n=n: prepare_dataset(
                    todo, work / f"prep-ray-{n}", executor=ray_prepare_executor(actors=1)
                )
            )
    finally:
        ray.shutdown()
    for job in figures.values():
        local_per = (job[f"local_{clips}"] - job["local_1"]) / (clips - 1)
        ray_per = (job[f"ray_{clips}"] - job["ray_1"]) / (clips - 1)
        job.update(
            local_per_sample=local_per,
            ray_per_sample=ray_per,
            overhead_per_sample=ray_per - local_per,
            overhead_fixed=job["ray_1"] - job["local_1"],
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ovmer-ray-overhead-") as tmp:
        figures = measure(args.clips, args.cpus, Path(tmp))
    command = " ".join([".venv/bin/python", "benchmarks/ray_overhead.py", *sys.argv[1:]])
    print(
        f"{command}\n{args.clips} copies of the demo clip, one model actor, local Ray with {args.cpus} CPUs"
    )
    print(f"{'job':8} {'here 1':>8} {'here N':>8} {'ray 1':>8} {'ray N':>8} {'s/sample here':>14} "
          f"{'s/sample ray':>13} {'overhead/sample':>16} {'fixed':>7}")  # fmt: skip
    for name, job in figures.items():
        print(
            f"{name:8} {job['local_1']:8.2f} {job[f'local_{args.clips}']:8.2f} {job['ray_1']:8.2f} "
            f"{job[f'ray_{args.clips}']:8.2f} {job['local_per_sample']:14.3f} {job['ray_per_sample']:13.3f} "
            f"{job['overhead_per_sample'] * 1000:13.0f} ms {job['overhead_fixed']:6.1f}s"
        )
    if args.json is not None:
        from ovmer.atomic import write_json_atomic

        write_json_atomic(args.json, {"command": command, "clips": args.clips, "figures": figures})


if __name__ == "__main__":
    main()
