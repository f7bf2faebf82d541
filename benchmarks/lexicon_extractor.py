"""How close the offline lexicon extractor comes to the paper's Qwen2.5 extractor.

Same model answers, two extractions: the stored Qwen2.5-7B step-A/step-B replies of the released
AffectGPT run (``-openset.npz`` / ``-openset-sentiment.npz``) and ``ovmer``'s ``--backend lexicon``.
For MER2023 (hit rate) and CMU-MOSI (WAF), for each of the 7 released checkpoints, it prints the
label agreement (exact same label set; mean Jaccard of the label sets) and both scores.

Run (from the project root, reference files in ../shared/reference):

    .venv/bin/python benchmarks/lexicon_extractor.py [--reference ../shared/reference]
    .venv/bin/python benchmarks/lexicon_extractor.py --show-disagreements 20

``--show-disagreements N`` adds, per dataset over all checkpoints, how the label sets differ
(Qwen dropped stated labels / kept more than the lexicon / other), how the step-B answers differ
on Qwen's own lists, and the first N answers whose score differs between the two extractions.
"""

from __future__ import annotations

import argparse
import collections
import time
from pathlib import Path

import numpy as np

from ovmer.assets import load_wheel_maps
from ovmer.data import read_ground_truth
from ovmer.labels import LabelMapper, string_to_list
from ovmer.labels.mapping import wheel_metrics
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


def disagreement_kind(qwen: list[str], ours: list[str]) -> str:
    """How two label lists differ, for the --show-disagreements breakdown."""
    q, o = set(qwen), set(ours)
    if q == o:
        return "same set, other order"
    if q < o:
        return "qwen dropped labels the lexicon kept"
    if q > o:
        return "qwen kept labels the lexicon cut or missed"
    return "other (normalised, reworded, both)"


class Disagreements:
    """Collects the examples and counts printed by --show-disagreements."""

    def __init__(self, limit: int, mapper: LabelMapper) -> None:
        self.limit = limit
        self.cells = [mapper.cell_mapper(metric) for metric in wheel_metrics(level=1)]
        self.kinds: collections.Counter[str] = collections.Counter()
        self.step_b: collections.Counter[tuple[str, str]] = collections.Counter()
        self.examples: list[str] = []

    def hits(self, gt_label: str, cell: str) -> list[int]:
        return [len(cell_map(cell) & cell_map(gt_label)) for cell_map in self.cells if cell_map(gt_label)]

    def add(
        self, checkpoint: str, text: str, gt_label: object, qwen: str, ours: str, score_differs: bool
    ) -> None:
        q = [item.strip().lower() for item in string_to_list(qwen) if item.strip()]
        o = [item.strip().lower() for item in string_to_list(ours) if item.strip()]
        if q != o:
            self.kinds[disagreement_kind(q, o)] += 1
        if score_differs and len(self.examples) < self.limit:
            self.examples.append(
                f"  {checkpoint[11:17]} gt={gt_label} {text!r}\n      qwen {qwen}\n      lex  {ours}"
            )

    def report(self, dataset: str) -> None:
        print(f"\n{dataset}: label lists that differ, over all checkpoints")
        for kind, count in self.kinds.most_common():
            print(f"  {count:5d}  {kind}")
        if self.step_b:
            print(f"{dataset}: step B on Qwen's own lists (qwen answer, lexicon answer) where they differ")
            for (qwen, ours), count in self.step_b.most_common(12):
                print(f"  {count:5d}  {qwen:>13s} -> {ours}")
        print(f"{dataset}: the first {len(self.examples)} answers whose score differs")
        print("\n".join(self.examples))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--reference", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "reference"
    )
    parser.add_argument("--max-labels", type=int, default=4, help="labels kept per answer (0: all)")
    parser.add_argument(
        "--show-disagreements",
        type=int,
        default=0,
        metavar="N",
        help="print how and where the extractions differ",
    )
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
        shown = Disagreements(args.show_disagreements, mapper)
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
            if args.show_disagreements:
                for name in gt:
                    if dataset == "mer2023":
                        differs = shown.hits(gt[name], qwen_ov[name]) != shown.hits(
                            gt[name], str(lex_ov[name])
                        )
                    else:
                        differs = (qwen_sent[name] == "positive") != (lex_sent[name] == "positive")
                        if qwen_sent[name] != lex_b_only[name]:
                            shown.step_b[qwen_sent[name], str(lex_b_only[name])] += 1
                    shown.add(base.stem, texts[name], gt[name], qwen_ov[name], str(lex_ov[name]), differs)
        if args.show_disagreements:
            shown.report(dataset)
        mean_diff = float(np.mean(diffs)) * 100
        summary.append(
            (dataset, mean_diff, float(np.mean(np.abs(diffs))) * 100, float(np.max(np.abs(diffs))) * 100)
        )
    print("\nscore difference lexicon - qwen over the 7 checkpoints (points): mean, mean |diff|, max |diff|")
    for dataset, mean_diff, mean_abs, worst in summary:
        print(f"  {dataset}: {mean_diff:+.2f}  {mean_abs:.2f}  {worst:.2f}")


if __name__ == "__main__":
    main()
