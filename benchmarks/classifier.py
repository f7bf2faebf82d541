"""Voting-classifier speed and held-out accuracy on synthetic features of the real sizes (CPU).

::

    .venv/bin/python benchmarks/classifier.py                      # 2,000 clips, 100 epochs, 1 and 2 threads
    .venv/bin/python benchmarks/classifier.py --clips 200 --epochs 2 --threads 1

Features are ``visual`` (8, 768) and ``audio`` (8, 1024) per clip (an ``ovmer features extract``
cache's shapes) with a weak planted signal (``--signal``), 4 emotions and 3 sentiments; one member
is trained with the default settings (docs/classifier.md) per thread count, then predicts every clip.
It prints a table and writes ``benchmarks/results/classifier.json``: seconds per member, clips per
second for prediction, and the member's held-out accuracy (the same for every thread count).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any


def _run(clips: int, epochs: int, threads: int, signal: float, work: Path) -> dict[str, Any]:
    import ovmer.classifier.model as classifier_model
    from ovmer.classifier.predict import predict_members
    from ovmer.classifier.training import TrainSettings, train_members

    classifier_model.THREADS = threads  # a script may switch global state; the library never does
    labels, features = work.parent / "labels.csv", work.parent / "features"
    out = work / f"members-{threads}"
    started = time.perf_counter()
    report = train_members([f"csv:{labels}"], [features], out, TrainSettings(epochs=epochs), progress=False)
    trained = time.perf_counter()
    predict_members(out, [features], work / f"votes-{threads}", progress=False)
    done = time.perf_counter()
    member = report["members"][0]
    return {
        "threads": threads,
        "train_s": trained - started,
        "predict_clips_per_s": clips / (done - trained),
        "held_out": member["held_out"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--threads", default="1,2", help="comma-separated torch thread counts to compare")
    parser.add_argument("--signal", type=float, default=0.15)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "classifier.json")
    args = parser.parse_args()

    from ovmer.classifier.synthetic import synthetic_clips, write_label_csv, write_synthetic_features

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clips = synthetic_clips(args.clips, seed=0)
        write_synthetic_features(work / "features", clips, frames=8, signal=args.signal, seed=0)
        write_label_csv(work / "labels.csv", clips)
        threads = [int(t) for t in args.threads.split(",")]
        _run(args.clips, 1, threads[0], args.signal, work / "warm-up")  # first-call costs, not timed
        runs = [_run(args.clips, args.epochs, t, args.signal, work / "timed") for t in threads]
    print(f"{args.clips} clips, {args.epochs} epochs, visual 768 + audio 1024, one member")
    print("| threads | train s | predict clips/s | held-out emotion acc | held-out sentiment acc |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for run in runs:
        emotion, sentiment = run["held_out"]["emotion"], run["held_out"]["sentiment"]
        print(
            f"| {run['threads']} | {run['train_s']:.1f} | {run['predict_clips_per_s']:.0f} "
            f"| {emotion['accuracy']:.3f} | {sentiment['accuracy']:.3f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"clips": args.clips, "epochs": args.epochs, "runs": runs}, indent=2) + "\n"
    )
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
