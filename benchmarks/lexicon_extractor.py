"""How close the offline lexicon extractor comes to the paper's Qwen2.5 extractor.

Same model answers, two extractions: the stored Qwen2.5-7B step-A/step-B replies of the released
AffectGPT run (``-openset.npz`` / ``-openset-sentiment.npz``) and ``ovmer``'s ``--backend lexicon``.
For MER2023 (hit rate) and CMU-MOSI (WAF), for each of the 7 released checkpoints, it prints the
label agreement (exact same label set; mean Jaccard of the label sets) and both scores.

Run (from the project root, reference files in ../shared/reference):

    .venv/bin/python benchmarks/lexicon_extractor.py [--reference ../shared/reference]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ovmer.assets import load_wheel_maps
from ovmer.data import read_ground_truth
from ovmer.labels import LabelMapper, string_to_list
from ovmer.llm.lexicon import LexiconExtractor
from ovmer.metrics import hit_rate_all_wheels, sentiment_scores
from ovmer.results.formats import read_checkpoint

RUN = "emercoarse_highlevelfilter4_outputhybird_bestsetup_bestfusion_lz_20250110100"
DATASETS = {
    "mer2023": ("results-mer2023", "mer2023-dataset-process/label-6way.npz"),
    "cmumosi": ("results-cmumosi", "cmumosi-process/label.npz"),
}


def label_set(cell: str) -> frozenset[str]:
    return frozenset(item.lower().strip() for item in string_to_list(cell) if item.strip())


def agreement(a: dict[str, str], b: dict[str, str]) -> tuple[float, float]:
    """(exact-set match rate, mean Jaccard) over the names of ``a``; two empty sets agree fully."""
    exact, jaccard = [], []
    for name, cell in a.items():
        x, y = label_set(cell), label_set(b[name])
        exact.append(x == y)
        jaccard.append(1.0 if not (x | y) else len(x & y) / len(x | y))
    return float(np.mean(exact)), float(np.mean(jaccard))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--reference", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "reference"
    )
    parser.add_argument("--max-labels", type=int, default=4, help="labels kept per answer (0: all)")
    args = parser.parse_args()
    reference = args.reference.resolve()
    maps = load_wheel_maps(reference / "emotion_wheel")
    mapper = LabelMapper(maps)
    lexicon = LexiconExtractor(maps, max_labels=args.max_labels or None)
    print(
        "command: .venv/bin/python benchmarks/lexicon_extractor.py --reference",
        reference,
        "--max-labels",
        args.max_labels,
    )
    summary = []
    for dataset, (folder, label_file) in DATASETS.items():
        gt = read_ground_truth(dataset, reference / "labels" / label_file)
        run = reference / "published" / "affectgpt" / folder / RUN
        bases = sorted(
            p for p in run.glob("checkpoint_*.npz") if "openset" not in p.name and "sentiment" not in p.name
        )
        print(f"\n{dataset} ({len(gt)} test samples)")
        header = "checkpoint                      exact   jaccard   qwen    lexicon   diff"
        if dataset == "cmumosi":
            header += "   sent.agree  lexB(qwenA)"
        print(header)
        diffs = []
        for base in bases:
            pred = read_checkpoint(base)
            texts = pred.field_map("text")
            qwen_ov = pred.field_map("ov_labels")
            start = time.perf_counter()
            lex_ov = dict(zip(texts, lexicon.ovlabels(list(texts.values())), strict=True))
            elapsed = time.perf_counter() - start
            exact, jaccard = agreement({n: qwen_ov[n] for n in gt}, {n: str(lex_ov[n]) for n in gt})
            line = f"{base.stem:30s} {exact * 100:6.2f}  {jaccard * 100:6.2f}"
            if dataset == "mer2023":
                qwen_score = hit_rate_all_wheels(gt, qwen_ov, mapper)[0].hit_rate
                lex_score = hit_rate_all_wheels(gt, lex_ov, mapper)[0].hit_rate
                line += f"   {qwen_score * 100:6.2f}  {lex_score * 100:6.2f}  {(lex_score - qwen_score) * 100:+6.2f}"
            else:
                qwen_sent = pred.field_map("sentiment")
                lex_sent = dict(
                    zip(lex_ov, lexicon.sentiment([str(v) for v in lex_ov.values()]), strict=True)
                )
                lex_b_only = dict(zip(qwen_ov, lexicon.sentiment(list(qwen_ov.values())), strict=True))
                qwen_score = sentiment_scores(gt, qwen_sent).waf
                lex_score = sentiment_scores(gt, lex_sent).waf
                b_only = sentiment_scores(gt, lex_b_only).waf
                same = np.mean([qwen_sent[n] == lex_sent[n] for n in gt])
                line += (
                    f"   {qwen_score * 100:6.2f}  {lex_score * 100:6.2f}  {(lex_score - qwen_score) * 100:+6.2f}"
                    f"      {same * 100:6.2f}     {b_only * 100:6.2f}"
                )
            diffs.append(lex_score - qwen_score)
            print(line + f"   ({elapsed * 1000:.0f} ms)")
        mean_diff = float(np.mean(diffs)) * 100
        summary.append(
            (dataset, mean_diff, float(np.mean(np.abs(diffs))) * 100, float(np.max(np.abs(diffs))) * 100)
        )
    print("\nscore difference lexicon - qwen over the 7 checkpoints (points): mean, mean |diff|, max |diff|")
    for dataset, mean_diff, mean_abs, worst in summary:
        print(f"  {dataset}: {mean_diff:+.2f}  {mean_abs:.2f}  {worst:.2f}")


if __name__ == "__main__":
    main()
