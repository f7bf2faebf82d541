"""benchmarks/lexicon_extractor.py on the released run: its figures against independent ones.

The Qwen column is checked against the released run's own scores, computed here straight from the
reference files (scikit-learn's weighted F1 for CMU-MOSI; the released hit rates for MER2023, as
tests/metrics/test_published_fixtures.py reproduces them bit for bit), and the lexicon column against
the figures docs/extraction.md publishes for this command.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from tests.benchmarks.conftest import run_script
from tests.conftest import RUN

pytestmark = [pytest.mark.benchmark_smoke, pytest.mark.timeout(180)]

DOC = Path(__file__).resolve().parents[2] / "docs" / "extraction.md"
MER2023_QWEN_HIT_RATE = {  # the released run, Qwen2.5-extracted (tests/metrics/test_published_fixtures.py)
    30: 0.7255402731,
    35: 0.7678668223,
    40: 0.7344282597,
    45: 0.7463756788,
    50: 0.7853869969,
    55: 0.7569750799,
    60: 0.7368684972,
}


@pytest.fixture(scope="module")
def figures(reference: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("lexicon") / "figures.json"
    args = ["--reference", str(reference), "--show-disagreements", "2", "--json", str(out)]
    run = run_script("lexicon_extractor.py", args, out.parent, timeout_s=150)
    assert "both signs" in run.stdout and "even the best rule" in run.stdout  # --show-disagreements
    assert f"figures written to {out}" in run.stdout
    return json.loads(out.read_text())


def documented_table() -> dict[int, tuple[float, float, float, float]]:
    """epoch -> (MER2023 qwen, lexicon, CMU-MOSI qwen, lexicon) in points, from docs/extraction.md."""
    number = r"([0-9]+\.[0-9]+)"
    row = re.compile(rf"^\| ([0-9]{{2}}) \| {number} → {number} \(.*?\) \| {number} → {number} \(.*?\) \|$")
    table = {
        int(m[1]): tuple(float(x) for x in m.groups()[1:])
        for m in map(row.match, DOC.read_text().splitlines())
        if m
    }
    assert sorted(table) == [30, 35, 40, 45, 50, 55, 60], f"{DOC}: the per-checkpoint table was not found"
    return table  # type: ignore[return-value]


def epoch(checkpoint: str) -> int:
    return int(checkpoint.split("_")[1])


def test_one_record_per_released_checkpoint(figures: dict, published: Path) -> None:  # type: ignore[type-arg]
    assert figures["extractor"] == "lexicon:v2:max4"  # the identity docs/extraction.md names
    for dataset in ("mer2023", "cmumosi"):
        answers = sorted((published / f"results-{dataset}" / RUN).glob("checkpoint_*_loss_?.???.npz"))
        records = figures["datasets"][dataset]["checkpoints"]
        assert [r["checkpoint"] for r in records] == [p.stem for p in answers]
        for record in records:
            # an exact match of two label sets is a Jaccard index of 1, so the mean index is at least
            # the exact-match rate; both are shares
            assert 0 <= record["exact"] <= record["jaccard"] <= 1
            assert 0 <= record["qwen"] <= 1 and 0 <= record["lexicon"] <= 1


def test_qwen_scores_are_the_released_runs(figures: dict, reference: Path, published: Path) -> None:  # type: ignore[type-arg]
    for record in figures["datasets"]["mer2023"]["checkpoints"]:
        assert record["qwen"] == pytest.approx(MER2023_QWEN_HIT_RATE[epoch(record["checkpoint"])], abs=1e-10)
    labels = np.load(reference / "labels/cmumosi-process/label.npz", allow_pickle=True)["test_corpus"].item()
    # WAF (docs/scoring.md): weighted F1 of "answer is exactly `positive`" vs valence > 0, valence ≠ 0
    scored = [name for name, label in labels.items() if label["val"] != 0]
    for record in figures["datasets"]["cmumosi"]["checkpoints"]:
        with np.load(
            published / "results-cmumosi" / RUN / f"{record['checkpoint']}-openset-sentiment.npz"
        ) as f:
            answer = dict(zip(f["filenames"].tolist(), f["fileitems"].tolist(), strict=True))
        truth = [labels[name]["val"] > 0 for name in scored]
        positive = [answer[name] == "positive" for name in scored]
        assert record["qwen"] == pytest.approx(f1_score(truth, positive, average="weighted"), abs=1e-12)
        assert record["scored"] == len(scored) == 656


def test_positive_vs_rest_disagreements_are_among_the_differing_answers(figures: dict) -> None:  # type: ignore[type-arg]
    for record in figures["datasets"]["cmumosi"]["checkpoints"]:
        differing_answers = round((1 - record["sentiment_agreement"]) * 686)  # all 686 test samples
        assert 0 < record["lexicon_right"] + record["qwen_right"] <= differing_answers


def test_figures_are_the_documented_ones(figures: dict) -> None:  # type: ignore[type-arg]
    table = documented_table()
    for column, dataset in ((0, "mer2023"), (2, "cmumosi")):
        for record in figures["datasets"][dataset]["checkpoints"]:
            documented = table[epoch(record["checkpoint"])]
            assert record["qwen"] * 100 == pytest.approx(documented[column], abs=0.0051)
            assert record["lexicon"] * 100 == pytest.approx(documented[column + 1], abs=0.0051)
    # the paper protocol: both extractions select MER2023 epoch 50 and CMU-MOSI epoch 40
    for dataset, best in (("mer2023", 50), ("cmumosi", 40)):
        selected = figures["datasets"][dataset]["paper_protocol"]
        assert epoch(selected["qwen_checkpoint"]) == epoch(selected["lexicon_checkpoint"]) == best
        assert abs(selected["lexicon"] - selected["qwen"]) < 0.01
    spread = figures["datasets"]["cmumosi"]["positive_vs_rest"]
    text = DOC.read_text()
    sides = re.search(r"sides with the lexicon in (\d+) and with Qwen in (\d+)", text)
    assert sides, f"{DOC}: the positive-vs-rest counts were not found"
    assert (spread["lexicon_right"], spread["qwen_right"]) == (int(sides[1]), int(sides[2]))
    assert 0 < spread["p_one_checkpoint_beyond_1_point"] < spread["p_any_checkpoint_beyond_1_point"] < 1
