"""``hf:`` baselines end to end: ``ovmer bench`` on tiny random-weight Video-LLaVA and LLaVA-OneVision
checkpoints built offline (tests/baselines/tiny_models.py) and a two-clip MER2023 tree."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ovmer.baselines.prompts import VIDEO_QUESTION, prompt_sha256
from ovmer.data.registry import load_samples
from ovmer.errors import BaselineSpecError
from ovmer.inference.model_table import build_answer_model
from tests.baselines.conftest import assert_batch_one_matches, bench_mer2023
from tests.baselines.tiny_models import (
    build_llava_next_video,
    build_llava_onevision,
    build_qwen2_5_vl,
    build_video_llava,
)

#: model_type → (builder, the chat text the checkpoint's template makes around a question Q).
ADAPTERS: dict[str, tuple[Callable[[Path], Path], Callable[[str], str]]] = {
    "video_llava": (build_video_llava, lambda q: f"USER: <video>\n{q} ASSISTANT:"),
    "llava_onevision": (
        build_llava_onevision,
        lambda q: f"<|im_start|>user\n<video>\n{q}<|im_end|>\n<|im_start|>assistant\n",
    ),
    "llava_next_video": (build_llava_next_video, lambda q: f"USER: <video>\n{q} ASSISTANT:"),
    "qwen2_5_vl": (
        build_qwen2_5_vl,
        lambda q: (
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
            f"<|vision_start|><|video_pad|><|vision_end|>{q}<|im_end|>\n<|im_start|>assistant\n"
        ),
    ),
}


@pytest.fixture(scope="module", params=sorted(ADAPTERS))
def tiny_model(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    model_type = request.param
    return model_type, ADAPTERS[model_type][0](tmp_path_factory.mktemp(model_type))


@pytest.mark.slow
def test_bench_end_to_end(tiny_model: tuple[str, Path], tree: Path, tmp_path: Path, wheel_dir: Path) -> None:
    """Records with provenance and the prompt's hashes; batched greedy answers equal batch-1 answers."""
    model_type, folder = tiny_model
    spec = f"hf:{folder}?max_new_tokens=4&batch_size=2"
    results, records = bench_mer2023(spec, tree, tmp_path / "run", wheel_dir)
    assert results["model"].startswith(f"hf:{folder}[{model_type};decoding=greedy,frames=8,max_new_tokens=4,")
    template = ADAPTERS[model_type][1]
    questions = {"m_one": "Subtitle content of this video: I am happy.; " + VIDEO_QUESTION}
    questions["m_two"] = "Subtitle content of this video: ; " + VIDEO_QUESTION  # empty subtitle, as upstream
    for name, record in records.items():
        details = record["details"]
        assert details["question_sha256"] == prompt_sha256(questions[name])
        assert details["prompt_sha256"] == prompt_sha256(template(questions[name]))
        assert (details["subtitle_variant"], details["modalities"], details["decoding"]) == (
            "on",
            "vt",
            "greedy",
        )
        assert details["frames"] == 8 and 1 <= details["generated_tokens"] <= 4
        provenance = record["inputs"]  # from the one inputs builder
        assert provenance["num_frames"] == 8 and len(provenance["frame_indices"]) == 8
        assert provenance["audio_source"] == "video"
        assert (
            "\n" not in record["text"]
            and "\t" not in record["text"]
            and record["text"] == record["text"].strip()
        )
    assert questions["m_one"].startswith("Subtitle content of this video: I am happy.; As an expert")
    assert (
        prompt_sha256(questions["m_one"])
        == "5c3fd0b3d3eb7513b01b7f13816d973d5ba1e28eec36de8d5d2fc435eff4d40d"
    )

    assert_batch_one_matches(f"hf:{folder}?max_new_tokens=4&batch_size=1", tree, records)


def test_subtitle_off_asks_v_alone(tree: Path, tmp_path: Path) -> None:
    folder = build_video_llava(tmp_path / "vl")
    model = build_answer_model(f"hf:{folder}?max_new_tokens=2&subtitle=off")
    sample = load_samples(tree, "mer2023")[0]
    (record,) = model.answer_batch([model.load(sample)])
    assert not isinstance(record, Exception)
    assert record.details["question_sha256"] == prompt_sha256(VIDEO_QUESTION)
    assert (record.details["modalities"], record.details["subtitle_variant"]) == ("v", "off")
    assert "subtitle=off" in model.identity

    with pytest.raises(BaselineSpecError, match=r"subtitle=addsub .* add merger="):
        build_answer_model(f"hf:{folder}?subtitle=addsub")
    with pytest.raises(BaselineSpecError, match="reads v, t; modalities=av asks for a"):
        build_answer_model(f"hf:{folder}?modalities=av")


def test_paper_decoding_only_where_upstream_ran_the_model(tmp_path: Path) -> None:
    folder = build_llava_onevision(tmp_path / "ov")
    with pytest.raises(BaselineSpecError, match="upstream did not run llava_onevision"):
        build_answer_model(f"hf:{folder}?decoding=paper")


def test_unknown_model_type_is_named(tmp_path: Path) -> None:
    from transformers import BertConfig

    BertConfig(
        hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8
    ).save_pretrained(tmp_path / "bert")
    with pytest.raises(BaselineSpecError, match="is a 'bert' model; ovmer's hf: adapters run ") as raised:
        build_answer_model(f"hf:{tmp_path / 'bert'}")
    for model_type in ADAPTERS:
        assert model_type in str(raised.value)


def test_addsub_merges_the_no_subtitle_answer_with_the_subtitle(
    tree: Path, tmp_path: Path, wheel_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """subtitle=addsub (upstream's nosubtitle-addsub): answer without the subtitle, then the clue merge; the
    lexicon merger concatenates, and an empty subtitle keeps the clue unchanged (OV-MER/merge.py)."""
    monkeypatch.setenv("OVMER_ASSETS_DIR", str(wheel_dir))
    folder = build_video_llava(tmp_path / "vl")
    model = build_answer_model(f"hf:{folder}?max_new_tokens=3&subtitle=addsub&merger=lexicon&batch_size=2")
    assert "subtitle=addsub" in model.identity and "merger=lexicon" in model.identity
    samples = sorted(load_samples(tree, "mer2023"), key=lambda s: s.name)
    records = model.answer_batch([model.load(s) for s in samples])
    assert not any(isinstance(r, Exception) for r in records)
    one, two = records
    assert not isinstance(one, Exception) and not isinstance(two, Exception)
    for record in records:
        assert not isinstance(record, Exception)
        assert record.details["question_sha256"] == prompt_sha256(VIDEO_QUESTION)
        assert record.details["modalities"] == "v"
    assert one.text == f'{one.details["clue"]} The character says: "I am happy."'.strip()
    assert two.text == two.details["clue"]
