"""``ovmer extract`` end to end: official npz in and out, JSONL, caching through the CLI, failures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ovmer.assets import load_wheel_maps
from ovmer.cli.main import app
from ovmer.llm.lexicon import LexiconExtractor
from ovmer.results import AnswerRecord, read_predictions, write_records
from tests.conftest import RUN

runner = CliRunner()


def invoke(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture
def mosi_base(reference: Path, tmp_path: Path) -> Path:
    """Only the model answers of one checkpoint (no stored extractions beside them)."""
    source = reference / f"published/affectgpt/results-cmumosi/{RUN}/checkpoint_000040_loss_0.569.npz"
    target = tmp_path / "run" / source.name
    target.parent.mkdir()
    shutil.copy(source, target)
    return target


def test_lexicon_steps_a_and_b_write_official_files(mosi_base: Path, wheel_dir: Path) -> None:
    code, output = invoke(
        "extract",
        "--task",
        "ovlabels",
        "--backend",
        "lexicon",
        "--assets",
        wheel_dir,
        "--in",
        mosi_base,
        "--out",
        mosi_base,
    )
    assert code == 0, output
    openset = mosi_base.with_name(mosi_base.stem + "-openset.npz")
    with np.load(openset, allow_pickle=False) as archive:
        names, items = archive["filenames"].tolist(), archive["fileitems"].tolist()
    assert len(names) == 686
    texts = read_predictions(mosi_base).field_map("text")
    lexicon = LexiconExtractor(load_wheel_maps(wheel_dir))
    assert items == lexicon.ovlabels([texts[n] for n in names])
    code, output = invoke(
        "extract",
        "--task",
        "sentiment",
        "--backend",
        "lexicon",
        "--assets",
        wheel_dir,
        "--in",
        openset,
        "--out",
        openset,
    )
    assert code == 0, output
    sentiment = read_predictions(mosi_base.with_name(mosi_base.stem + "-openset-sentiment.npz"))
    assert set(sentiment.field_map("sentiment").values()) <= {"positive", "negative", "neutral"}
    meta = json.loads(
        mosi_base.with_name(mosi_base.stem + "-openset-sentiment.npz.extraction.json").read_text()
    )
    assert meta["extracted"] == 686 and meta["extractor"].startswith("lexicon")


def test_hf_backend_jsonl_cache_and_cache_only_rerun(tiny_model_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "answers.jsonl"
    write_records(
        source,
        [AnswerRecord(name=f"s{i}", text=t) for i, t in enumerate(["He is happy.", "She is sad.", "Calm."])],
    )
    out = tmp_path / "out.jsonl"
    code, output = invoke(
        "extract",
        "--task",
        "ovlabels",
        "--backend",
        f"hf:{tiny_model_dir}",
        "--max-tokens",
        "12",
        "--in",
        source,
        "--out",
        out,
    )
    assert code == 0, output
    first = read_predictions(out).field_map("ov_labels")
    meta = json.loads((tmp_path / "out.jsonl.extraction.json").read_text())
    assert meta["sampling"]["temperature"] == 0.0 and meta["sampling"]["max_tokens"] == 12
    assert len(meta["prompt_sha256"]["ovlabels"]) == 64
    # Same settings, no model: everything comes from the cache.
    code, output = invoke(
        "extract",
        "--task",
        "ovlabels",
        "--backend",
        f"cache:{meta['extractor']}",
        "--max-tokens",
        "12",
        "--in",
        source,
        "--out",
        tmp_path / "again.jsonl",
    )
    assert code == 0, output
    assert read_predictions(tmp_path / "again.jsonl").field_map("ov_labels") == first
    # Paper decoding is a different cache key: the cache-only backend fails every sample, and says so.
    code, output = invoke(
        "extract", "--task", "ovlabels", "--backend", f"cache:{meta['extractor']}", "--max-tokens", "12", "--decoding", "paper",
        "--in", source, "--out", tmp_path / "paper.jsonl",
    )  # fmt: skip
    assert code == 3  # docs/cli.md: some samples failed
    assert "3 failed" in output and "CacheMissError" in output


def test_failing_samples_are_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    source = tmp_path / "answers.jsonl"
    write_records(
        source,
        [
            AnswerRecord(name="done", text="x", ov_labels="[happy]"),
            AnswerRecord(name="todo", text="y"),
        ],
    )
    out = tmp_path / "out.jsonl"
    code, output = invoke(
        "extract", "--task", "ovlabels", "--backend", "openai:http://127.0.0.1:9/v1#m", "--retries", "1",
        "--timeout", "2", "--in", source, "--out", out,
    )  # fmt: skip
    assert code == 3  # docs/cli.md: some samples failed
    assert "todo" in output
    written = read_predictions(out)
    assert written.field_map("ov_labels") == {"done": "[happy]"}
    meta = json.loads((tmp_path / "out.jsonl.extraction.json").read_text())
    assert list(meta["failures"]) == ["todo"] and meta["kept"] == 1


def test_merge_with_subtitles(tmp_path: Path, wheel_dir: Path) -> None:
    source = tmp_path / "clues.jsonl"
    write_records(source, [AnswerRecord(name="a", text="He frowns."), AnswerRecord(name="b", text="")])
    subtitles = tmp_path / "subs.csv"
    subtitles.write_text("name,chinese,english\na,x,I am fine.\nb,y,\n", encoding="utf-8")
    out = tmp_path / "merged.npz"
    code, output = invoke(
        "extract", "--task", "merge", "--backend", "lexicon", "--assets", wheel_dir, "--in", source, "--out", out,
        "--subtitles", subtitles,
    )  # fmt: skip
    assert code == 0, output
    texts = read_predictions(out).field_map("text")
    assert texts == {
        "a": 'He frowns. The character says: "I am fine."',
        "b": "Unable to judge the emotional state.",
    }


def test_merge_needs_subtitles(tmp_path: Path, wheel_dir: Path) -> None:
    source = tmp_path / "clues.jsonl"
    write_records(source, [AnswerRecord(name="a", text="He frowns.")])
    code, output = invoke(
        "extract",
        "--task",
        "merge",
        "--backend",
        "lexicon",
        "--assets",
        wheel_dir,
        "--in",
        source,
        "--out",
        tmp_path / "o.jsonl",
    )
    assert code == 2 and "--subtitles" in output


def test_bench_with_an_llm_extractor(tiny_model_dir: Path, tmp_path: Path, wheel_dir: Path) -> None:
    """``ovmer bench`` with an LLM extractor: answers already in the run folder, so only A + B run."""
    from ovmer.assets import load_wheel_maps
    from ovmer.bench.runner import run_bench
    from ovmer.llm.backends import HFChatBackend
    from ovmer.llm.extractor import LLMExtractor
    from ovmer.llm.settings import SamplingSettings

    root = tmp_path / "data" / "cmumosi-process"
    root.mkdir(parents=True)
    corpus = {"a": {"emo": 0, "val": 1.0}, "b": {"emo": 0, "val": -2.0}}
    np.savez_compressed(root / "label.npz", test_corpus=np.array(corpus, dtype=object))
    out = tmp_path / "run"
    (out / "cmumosi").mkdir(parents=True)
    lines = [
        json.dumps({"name": n, "text": f"The character's emotional state is {e}."})
        for n, e in (("a", "happy"), ("b", "sad"))
    ]
    (out / "cmumosi" / "answers.jsonl").write_text("\n".join(lines) + "\n")
    backend = HFChatBackend(tiny_model_dir, SamplingSettings(max_tokens=6), device="cpu")
    extractor = LLMExtractor(backend)
    maps = load_wheel_maps(wheel_dir)
    result = run_bench("clues", ["cmumosi"], tmp_path / "data", out, extractor, maps)
    run = result.datasets["cmumosi"]
    assert run.inferred_now == 0 and run.answered == 2
    records = [json.loads(x) for x in (out / "cmumosi" / "predictions.jsonl").read_text().splitlines()]
    assert all(isinstance(r["ov_labels"], str) and isinstance(r["sentiment"], str) for r in records)
    # Step A for both answers; step B once per distinct step-A reply (identical prompts are sent once).
    assert extractor.backend_calls == 2 + len({r["ov_labels"] for r in records})
    saved = json.loads((out / "run.json").read_text())
    assert saved["extractor"]["extractor"] == backend.identity
    score = run.scores["clean"]
    assert sum(score.details["prediction_counts"].values()) == 2
    assert 0.0 <= score.main <= 1.0


@pytest.mark.network
def test_openai_backend_through_the_cli(tiny_model_dir: Path, tmp_path: Path) -> None:
    """``--backend openai:URL#MODEL`` in completions mode against the real local server."""
    from ovmer.llm.backends import HFChatBackend
    from ovmer.llm.settings import SamplingSettings

    from .openai_server import ServerState, serve

    local = HFChatBackend(tiny_model_dir, SamplingSettings(max_tokens=12), device="cpu")
    source = tmp_path / "answers.jsonl"
    write_records(source, [AnswerRecord(name=f"s{i}", text=f"answer {i}") for i in range(3)])
    state = ServerState(local)
    with serve(state) as url:
        code, output = invoke(
            "extract", "--task", "ovlabels", "--backend", f"openai:{url}#tiny", "--http-mode", "completions",
            "--batch-size", "2", "--max-tokens", "12", "--in", source, "--out", tmp_path / "out.jsonl",
        )  # fmt: skip
    assert code == 0, output
    assert state.requests == 2  # 3 prompts in batches of 2
    assert state.bodies[0]["prompt"][0].startswith("<|im_start|>system\nYou are Qwen")
    labels = read_predictions(tmp_path / "out.jsonl").field_map("ov_labels")
    assert set(labels) == {"s0", "s1", "s2"}
    meta = json.loads((tmp_path / "out.jsonl.extraction.json").read_text())
    assert meta["extractor"] == f"openai:{url}#tiny"
