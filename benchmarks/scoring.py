"""How fast ovmer scores a whole MER-UniBench result set (9 datasets × 7 checkpoints).

Only MER2023 and CMU-MOSI outputs are public in ../shared/reference, so the benchmark builds a
full-size stand-in in a temporary folder, in the official layout: every dataset at its real test size
(411 … 4,659 samples, 12,799 in all) with its real label file where the reference has one, and
predictions resampled (fixed seed) from the released AffectGPT step-A / step-B replies. It then times

* ``load``    — reading the 63 prediction files and the label files;
* ``ovmer``   — scoring every checkpoint after loading (what the < 1 s target is about);
* ``unibench``— the whole ``run_unibench`` call (discovery + reading + scoring), as the CLI runs it;
* ``naive``   — the same scores computed the way the upstream scripts do it: the wheel spreadsheet
  re-read for every (dataset, checkpoint, wheel) and every label mapped again for every sample, with
  no memoisation. This is ovmer's own re-implementation of that approach, measured in the same run
  (the upstream scripts themselves need their hard-coded paths and an LLM, so they are not run here).

Run: ``.venv/bin/python benchmarks/scoring.py [--reference ../shared/reference] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ovmer.data.benchmarks import UNIBENCH_IDS, Family, get_benchmark
from ovmer.data.groundtruth import label_file_path, read_ground_truth
from ovmer.labels.mapping import LabelMapper, all_metrics, wheel_metrics
from ovmer.labels.wheel import build_wheel_maps, read_wheel, wheel_cluster
from ovmer.results.formats import read_checkpoint
from ovmer.scoring import score_predictions
from ovmer.scoring.unibench import run_unibench

RUN = "emercoarse_highlevelfilter4_outputhybird_bestsetup_bestfusion_lz_20250110100"
EPOCHS = (30, 35, 40, 45, 50, 55, 60)


def _published_items(reference: Path, dataset: str, suffix: str) -> list[str]:
    items: list[str] = []
    for path in sorted(
        (reference / "published/affectgpt" / f"results-{dataset}" / RUN).glob(f"*_loss_?.???{suffix}.npz")
    ):
        with np.load(path) as archive:
            items += archive["fileitems"].tolist()
    return items


def build_stand_in(reference: Path, root: Path) -> tuple[Path, Path]:
    """Write a 9 × 7 results tree and a GT_ROOT; return (results_dir, gt_root)."""
    rng = random.Random(0)
    ov_items = _published_items(reference, "mer2023", "-openset") + _published_items(
        reference, "cmumosi", "-openset"
    )
    sentiment_items = _published_items(reference, "cmumosi", "-openset-sentiment")
    results, gt_root = root / "results", root / "gt"
    for folder in (reference / "labels").iterdir():
        shutil.copytree(folder, gt_root / folder.name)
    mer2023 = read_ground_truth("mer2023", reference / "labels/mer2023-dataset-process/label-6way.npz")
    # MER2024 and OV-MERD+ labels are not public: synthesise them from MER2023 / the OV example.
    mer2024 = {f"mer24_{i:05d}": {"emo": rng.choice(list(mer2023.values())), "val": 0.0} for i in range(1169)}
    path = gt_root / "mer2024-dataset-process/label-6way.npz"
    path.parent.mkdir(parents=True)
    np.savez_compressed(path, test1_corpus=np.array(mer2024, dtype=object))
    ov = pd.read_csv(reference / "ov_example/check-openset.csv")
    extra = ov.sample(n=200, random_state=0, replace=True).assign(
        name=[f"samplenew3_{i:08d}" for i in range(200)]
    )
    (gt_root / "ovmerdplus-process").mkdir()
    pd.concat([ov, extra]).to_csv(gt_root / "ovmerdplus-process/ovlabel.csv", index=False)
    for dataset_id in UNIBENCH_IDS:
        dataset = get_benchmark(dataset_id)
        names = list(read_ground_truth(dataset, label_file_path(dataset, gt_root)))
        run_dir = results / f"results-{dataset.result_dir}" / RUN
        run_dir.mkdir(parents=True)
        for epoch in EPOCHS:
            base = run_dir / f"checkpoint_{epoch:06d}_loss_0.500"
            items = [rng.choice(ov_items) for _ in names]
            np.savez_compressed(f"{base}-openset.npz", filenames=np.array(names), fileitems=np.array(items))
            if dataset.family is Family.SENTIMENT:
                sentiments = [rng.choice(sentiment_items) for _ in names]
                np.savez_compressed(
                    f"{base}-openset-sentiment.npz", filenames=np.array(names), fileitems=np.array(sentiments)
                )
    return results, gt_root


def naive_scores(loaded: dict[str, tuple[dict, list[dict]]], wheel_dir: Path, maps) -> list[float]:  # type: ignore[no-untyped-def]
    """Upstream-style: re-read the wheel per metric call, map every label of every sample afresh."""
    scores = []
    for dataset_id, (gt, checkpoints) in loaded.items():
        family = get_benchmark(dataset_id).family
        for values in checkpoints:
            if family is Family.SENTIMENT:
                scores.append(
                    score_predictions(dataset_id, gt, values["predictions"], LabelMapper(maps)).main
                )
                continue
            metrics = wheel_metrics(1) if family is Family.DISCRETE else all_metrics()
            for metric in metrics:
                clusters = dict(maps.clusters)
                if metric.family == 3:  # upstream reads the spreadsheet inside every metric call
                    clusters[(metric.wheel, metric.level)] = wheel_cluster(
                        read_wheel(wheel_dir / f"wheel{metric.wheel}.xlsx"), metric.level
                    )
                fresh = type(maps)(maps.wheels, maps.raw_mapping, maps.format_mapping, clusters)
                total = 0.0
                for name, label in gt.items():
                    mapper = LabelMapper(fresh)  # no memoisation across samples
                    pred = values["predictions"].records[name].ov_labels
                    g, p = mapper.map_cell(label, metric), mapper.map_cell(pred, metric)
                    total += len(g & p) / max(len(p), 1)
                scores.append(total)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reference", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "reference"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    reference = args.reference.resolve()
    wheel_dir = reference / "emotion_wheel"
    maps = build_wheel_maps(wheel_dir)
    with tempfile.TemporaryDirectory() as tmp:
        results, gt_root = build_stand_in(reference, Path(tmp))
        n_samples = sum(
            len(read_ground_truth(d, label_file_path(get_benchmark(d), gt_root))) for d in UNIBENCH_IDS
        )

        def load() -> dict[str, tuple[dict, list[dict]]]:
            loaded = {}
            for dataset_id in UNIBENCH_IDS:
                dataset = get_benchmark(dataset_id)
                gt = read_ground_truth(dataset, label_file_path(dataset, gt_root))
                run_dir = results / f"results-{dataset.result_dir}" / RUN
                checkpoints = [
                    {"predictions": read_checkpoint(run_dir / f"checkpoint_{e:06d}_loss_0.500.npz")}
                    for e in EPOCHS
                ]
                loaded[dataset_id] = (gt, checkpoints)
            return loaded

        def score_all(loaded: dict[str, tuple[dict, list[dict]]]) -> list[float]:
            mapper = LabelMapper(maps)
            return [
                score_predictions(d, gt, c["predictions"], mapper).main
                for d, (gt, cs) in loaded.items()
                for c in cs
            ]

        timings: dict[str, list[float]] = {"load": [], "ovmer": [], "unibench": [], "naive": []}
        for _ in range(args.repeat):
            start = time.perf_counter()
            loaded = load()
            timings["load"].append(time.perf_counter() - start)
            start = time.perf_counter()
            scores = score_all(loaded)
            timings["ovmer"].append(time.perf_counter() - start)
            start = time.perf_counter()
            result = run_unibench(results, gt_root, maps, protocol="paper")
            timings["unibench"].append(time.perf_counter() - start)
        assert len(scores) == 63 and len(result.scored) == 9
        if not args.skip_naive:
            start = time.perf_counter()
            naive_scores(loaded, wheel_dir, maps)
            timings["naive"].append(time.perf_counter() - start)
    print(f"MER-UniBench stand-in: 9 datasets x {len(EPOCHS)} checkpoints, {n_samples} samples per checkpoint "
          f"({n_samples * len(EPOCHS)} sample scorings)")  # fmt: skip
    for key, values in timings.items():
        if values:
            print(
                f"  {key:9s} median {statistics.median(values):7.3f} s   (runs: {', '.join(f'{v:.3f}' for v in values)})"
            )
    if timings["naive"]:
        ratio = statistics.median(timings["naive"]) / statistics.median(timings["ovmer"])
        print(f"  speed-up of ovmer scoring over the naive upstream-style scoring: {ratio:.0f}x")
    print(f"  paper-protocol mean on the stand-in: {result.mean * 100:.2f}")
    print("command: .venv/bin/python benchmarks/scoring.py " + (f"--repeat {args.repeat}"))


if __name__ == "__main__":
    main()
