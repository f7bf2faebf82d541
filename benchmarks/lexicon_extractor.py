"""How close the offline lexicon extractor comes to the paper's Qwen2.5 extractor.

Same model answers, two extractions: the stored Qwen2.5-7B step-A/step-B replies of the released
AffectGPT run (``-openset.npz`` / ``-openset-sentiment.npz``) and ``ovmer``'s ``--backend lexicon``.
For MER2023 (hit rate) and CMU-MOSI (WAF), for each of the 7 released checkpoints, it prints the
label agreement (exact same label set; mean Jaccard of the label sets) and both scores.

Run (from the project root, reference files in ../shared/reference):

    .venv/bin/python benchmarks/lexicon_extractor.py [--reference ../shared/reference]
    .venv/bin/python benchmarks/lexicon_extractor.py --show-disagreements 20

Under each dataset it also prints what the paper protocol reports (the best checkpoint on the test
set, per extraction) and, for CMU-MOSI, how the positive-vs-rest decisions that WAF scores differ:
on how many samples, which side the ground truth takes, and how far the score difference can move
by chance given that count. ``--json FILE`` writes every figure.

``--show-disagreements N`` adds, per dataset over all checkpoints, how the label sets differ
(Qwen dropped stated labels / kept more than the lexicon / other), how the step-B answers differ
on Qwen's own lists, Qwen's step-B answers on its lists that mix positive and negative labels
(with the fewest positive-vs-rest decisions any rule on the labels' wheel signs must get "wrong"),
and the first N answers whose score differs between the two extractions.
"""

from __future__ import annotations

import argparse
import collections
import math
import sys
import time
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from ovmer.assets import load_wheel_maps
from ovmer.atomic import write_json_atomic
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
        # Qwen's step-B answer on its own lists that hold labels of both signs, by
        # (sign of the vote sum, sign of the last valenced label)
        self.mixed: collections.defaultdict[tuple[int, int], collections.Counter[str]] = (
            collections.defaultdict(collections.Counter)
        )
        self.examples: list[str] = []
        # Qwen positive or not, by the wheel signs of its list's labels in stated order
        self.by_signs: collections.defaultdict[tuple[int, ...], collections.Counter[bool]] = (
            collections.defaultdict(collections.Counter)
        )

    def add_qwen_step_b(self, lexicon: LexiconExtractor, qwen_list: str, qwen_answer: str) -> None:
        """Record Qwen's answer on its own list against the wheel signs of the list's labels."""
        signs = tuple(lexicon.item_valence(item) for item in string_to_list(qwen_list) if item.strip())
        self.by_signs[signs][qwen_answer == "positive"] += 1
        voted = [sign for sign in signs if sign]
        if 1 in voted and -1 in voted:
            self.mixed[(int(np.sign(sum(voted))), voted[-1])][qwen_answer] += 1

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

    def report(self, dataset: str, checkpoints: int) -> None:
        print(f"\n{dataset}: label lists that differ, over all checkpoints")
        for kind, count in self.kinds.most_common():
            print(f"  {count:5d}  {kind}")
        if self.step_b:
            print(f"{dataset}: step B on Qwen's own lists (qwen answer, lexicon answer) where they differ")
            for (qwen, ours), count in self.step_b.most_common(12):
                print(f"  {count:5d}  {qwen:>13s} -> {ours}")
        if self.mixed:
            print(
                f"{dataset}: Qwen's step B on its lists with labels of both signs (wheel votes, valence ≠ 0)"
            )
            print("  votes sum  last label   positive  negative  neutral  other")
            for (total, last), answers in sorted(self.mixed.items()):
                other = sum(answers.values()) - answers["positive"] - answers["negative"] - answers["neutral"]
                print(
                    f"  {total:+9d}  {last:+10d}   {answers['positive']:8d}  {answers['negative']:8d}"
                    f"  {answers['neutral']:7d}  {other:5d}"
                )
            # a rule that sees only these signs answers one way per row: the row's minority differs
            least = sum(min(votes[True], votes[False]) for votes in self.by_signs.values())
            lists = sum(sum(votes.values()) for votes in self.by_signs.values())
            print(
                f"  even the best rule on the wheel signs of all labels in stated order (chosen on these very"
                f" lists) differs from Qwen's positive-vs-rest answer on {least} of {lists} scored"
                f" decisions, {least / checkpoints:.1f} per checkpoint"
            )


def positive_vs_rest(
    gt: dict[str, float], qwen: dict[str, str], ours: dict[str, str]
) -> tuple[int, int, int]:
    """(samples scored, disagreements the lexicon gets right, disagreements Qwen gets right).

    WAF scores only the samples with valence ≠ 0 and only whether the answer is ``positive``, so
    these are the decisions that move the score difference.
    """
    scored = [name for name, value in gt.items() if value != 0]
    lexicon_right = qwen_right = 0
    for name in scored:
        q, o = qwen[name] == "positive", ours[name] == "positive"
        if q != o:
            if o == (gt[name] > 0):
                lexicon_right += 1
            else:
                qwen_right += 1
    return len(scored), lexicon_right, qwen_right


def report_chance_spread(records: list[dict[str, Any]]) -> dict[str, float]:
    """Print and return how much of the CMU-MOSI score gap a coin toss per disagreement explains.

    If each of the D positive-vs-rest disagreements of a checkpoint is as likely to favour either
    extraction, the accuracy difference is a sum of D steps of ±1/n, with standard deviation √D/n
    (WAF moves almost as accuracy here: both classes are near-balanced).
    """
    print("cmumosi: positive-vs-rest decisions that differ (valence ≠ 0), per checkpoint")
    print("checkpoint                      differ  lexicon right  qwen right   chance SD (points)")
    spreads = []
    for record in records:
        n, lex_right, qwen_right = record["scored"], record["lexicon_right"], record["qwen_right"]
        spread = math.sqrt(lex_right + qwen_right) / n * 100
        spreads.append(spread)
        print(
            f"{record['checkpoint']!s:30s} {lex_right + qwen_right:6d}  {lex_right:13d}  {qwen_right:10d}   {spread:6.2f}"
        )
    total_lex = sum(r["lexicon_right"] for r in records)
    total_qwen = sum(r["qwen_right"] for r in records)
    spread = float(np.mean(spreads))
    beyond_one = math.erfc(1 / (spread * math.sqrt(2)))  # P(|N(0, spread)| > 1 point)
    any_of = 1 - (1 - beyond_one) ** len(records)
    # the most disagreements per checkpoint that keep all of them within 1 point 95 % of the time
    per_checkpoint = 1 - 0.95 ** (1 / len(records))
    allowed_sd = 1 / NormalDist().inv_cdf(1 - per_checkpoint / 2)
    allowed = (allowed_sd * records[0]["scored"] / 100) ** 2
    print(
        f"  over all checkpoints the lexicon is right in {total_lex} and Qwen in {total_qwen} of these;"
        f" a chance spread of {spread:.2f} points puts one checkpoint beyond 1 point with probability"
        f" {beyond_one:.2f}, at least one of {len(records)} with {any_of:.2f};\n  to keep all {len(records)}"
        f" within 1 point with probability 0.95 by chance alone, at most {allowed:.0f} decisions per"
        " checkpoint may differ"
    )
    return {
        "lexicon_right": total_lex,
        "qwen_right": total_qwen,
        "mean_chance_sd_points": spread,
        "p_one_checkpoint_beyond_1_point": beyond_one,
        "p_any_checkpoint_beyond_1_point": any_of,
        "differing_decisions_allowed_for_95_percent": allowed,
    }


def report_paper_selection(dataset: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The paper protocol's number for each extraction: its best checkpoint (first on ties)."""
    qwen = [r["qwen"] for r in records]
    ours = [r["lexicon"] for r in records]
    q, o = int(np.argmax(qwen)), int(np.argmax(ours))
    print(
        f"{dataset}: paper protocol (best checkpoint on the test set): qwen {records[q]['checkpoint']}"
        f" {qwen[q] * 100:.2f}, lexicon {records[o]['checkpoint']} {ours[o] * 100:.2f}"
        f" ({(ours[o] - qwen[q]) * 100:+.2f})"
    )
    return {
        "qwen_checkpoint": records[q]["checkpoint"],
        "qwen": qwen[q],
        "lexicon_checkpoint": records[o]["checkpoint"],
        "lexicon": ours[o],
    }


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
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
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
    report: dict[str, Any] = {"command": " ".join(sys.argv), "extractor": lexicon.identity, "datasets": {}}
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
        records = [compare_checkpoint(dataset, base, gt, lexicon, mapper, shown) for base in bases]
        if args.show_disagreements:
            shown.report(dataset, len(records))
        diffs = [r["lexicon"] - r["qwen"] for r in records]
        figures: dict[str, Any] = {"checkpoints": records}
        figures["paper_protocol"] = report_paper_selection(dataset, records)
        if dataset == "cmumosi":
            figures["positive_vs_rest"] = report_chance_spread(records)
        report["datasets"][dataset] = figures
        summary.append(
            (dataset, np.mean(diffs) * 100, np.mean(np.abs(diffs)) * 100, np.max(np.abs(diffs)) * 100)
        )
    print("\nscore difference lexicon - qwen over the 7 checkpoints (points): mean, mean |diff|, max |diff|")
    for dataset, mean_diff, mean_abs, worst in summary:
        print(f"  {dataset}: {mean_diff:+.2f}  {mean_abs:.2f}  {worst:.2f}")
    if args.json:
        write_json_atomic(args.json, report)
        print(f"figures written to {args.json}")


def compare_checkpoint(
    dataset: str,
    base: Path,
    gt: dict[str, float],
    lexicon: LexiconExtractor,
    mapper: LabelMapper,
    shown: Disagreements,
) -> dict[str, Any]:
    """Score one checkpoint's answers with both extractions; print its row, return its figures."""
    pred = read_checkpoint(base)
    texts = pred.field_map("text")
    qwen_ov = pred.field_map("ov_labels")
    start = time.perf_counter()
    lex_ov = dict(zip(texts, lexicon.ovlabels(list(texts.values())), strict=True))
    elapsed = time.perf_counter() - start
    exact, jaccard = agreement({n: qwen_ov[n] for n in gt}, {n: str(lex_ov[n]) for n in gt})
    record: dict[str, Any] = {"checkpoint": base.stem, "exact": exact, "jaccard": jaccard}
    line = f"{base.stem:30s} {exact * 100:6.2f}  {jaccard * 100:6.2f}"
    if dataset == "mer2023":
        qwen_score = hit_rate_all_wheels(gt, qwen_ov, mapper)[0].hit_rate
        lex_score = hit_rate_all_wheels(gt, lex_ov, mapper)[0].hit_rate
        line += f"   {qwen_score * 100:6.2f}  {lex_score * 100:6.2f}  {(lex_score - qwen_score) * 100:+6.2f}"
    else:
        qwen_sent = pred.field_map("sentiment")
        lex_sent = {
            n: str(v)
            for n, v in zip(lex_ov, lexicon.sentiment([str(v) for v in lex_ov.values()]), strict=True)
        }
        lex_b_only = {
            n: str(v) for n, v in zip(qwen_ov, lexicon.sentiment(list(qwen_ov.values())), strict=True)
        }
        qwen_score = sentiment_scores(gt, qwen_sent).waf
        lex_score = sentiment_scores(gt, lex_sent).waf
        b_only = sentiment_scores(gt, lex_b_only).waf
        same = float(np.mean([qwen_sent[n] == lex_sent[n] for n in gt]))
        scored, lexicon_right, qwen_right = positive_vs_rest(gt, qwen_sent, lex_sent)
        record |= {
            "sentiment_agreement": same,
            "lexicon_step_b_on_qwen_step_a": b_only,
            "scored": scored,
            "lexicon_right": lexicon_right,
            "qwen_right": qwen_right,
        }
        line += (
            f"   {qwen_score * 100:6.2f}  {lex_score * 100:6.2f}  {(lex_score - qwen_score) * 100:+6.2f}"
            f"      {same * 100:6.2f}     {b_only * 100:6.2f}"
        )
    record |= {"qwen": qwen_score, "lexicon": lex_score}
    print(line + f"   ({elapsed * 1000:.0f} ms)")
    if shown.limit:
        for name in gt:
            if dataset == "mer2023":
                differs = shown.hits(gt[name], qwen_ov[name]) != shown.hits(gt[name], str(lex_ov[name]))
            else:
                differs = (qwen_sent[name] == "positive") != (lex_sent[name] == "positive")
                if qwen_sent[name] != lex_b_only[name]:
                    shown.step_b[qwen_sent[name], lex_b_only[name]] += 1
                if gt[name] != 0:
                    shown.add_qwen_step_b(lexicon, qwen_ov[name], qwen_sent[name])
            shown.add(base.stem, texts[name], gt[name], qwen_ov[name], str(lex_ov[name]), differs)
    return record


if __name__ == "__main__":
    main()
