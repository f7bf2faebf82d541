"""The active-speaker check's threshold, measured on synthesised clips with and without lip movement.

For each kind of clip (``speech``: lips follow the voice; ``still``: lips do not move, the speaker is
off screen; ``offbeat``: lips move with another stretch of the speech) and each start in the demo
clip, writes a 3 s clip (:func:`ovmer.annotate.synthetic.write_talking_clip`) and prints the score of
:class:`ovmer.annotate.speaker.LipSyncCheck`, its two factors, and the threshold midway between the
highest non-speaking and the lowest speaking score. The measurement behind ``DEFAULT_THRESHOLD``
(docs/annotate.md, 'Active speaker').

With ``--reference`` (the shared reference folder, when present) it also scores the one real clip of
a person speaking on screen there (``media/sample_00000000.mp4``), a real positive for the threshold.

Run: ``.venv/bin/python benchmarks/speaker_threshold.py [--starts 0.3,1.0,1.8,2.6,3.4] [--reference ../shared/reference] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ovmer.annotate.speaker import DEFAULT_THRESHOLD, LipSyncCheck
from ovmer.annotate.synthetic import write_talking_clip

KINDS = ("speech", "still", "offbeat")
ROOT = Path(__file__).resolve().parents[1]


def _line(kind: str, label: str, measured: dict[str, float]) -> str:
    return (
        f"{kind:<8} {label:<12} score {measured['score']:6.3f}  syllables {measured['correlation']:6.3f}  "
        f"talk/pause {measured['activity_correlation']:6.3f}  mouth movement {measured['mouth_movement']:.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--starts", default="0.3,1.0,1.8,2.6,3.4", help="Starts in the demo clip (seconds).")
    parser.add_argument("--json", type=Path, default=None, help="Also write the scores here.")
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference")
    args = parser.parse_args()
    starts = [float(x) for x in args.starts.split(",")]
    check = LipSyncCheck()
    scores: dict[str, list[float]] = {kind: [] for kind in KINDS}
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for kind in KINDS:
            for start in starts:
                clip = write_talking_clip(Path(folder) / f"{kind}_{start}.mp4", kind, start=start)
                measured = check.measure(clip)
                scores[kind].append(round(measured["score"], 3))
                print(_line(kind, f"start {start:.1f} s", measured))
    real = args.reference / "media" / "sample_00000000.mp4"
    if real.is_file():
        measured = check.measure(real)
        scores["real"] = [round(measured["score"], 3)]
        print(_line("real", real.name[:12], measured))
    lowest_speaking = min(scores["speech"] + scores.get("real", []))
    highest_other = max(scores["still"] + scores["offbeat"])
    midway = round((lowest_speaking + highest_other) / 2, 3)
    print(
        f"speaking ≥ {lowest_speaking}, not speaking ≤ {highest_other}: midway {midway} (default {DEFAULT_THRESHOLD})"
    )
    print(f"{len(KINDS) * len(starts)} clips in {time.perf_counter() - began:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"scores": scores, "midway": midway}, indent=2) + "\n")


if __name__ == "__main__":
    main()
