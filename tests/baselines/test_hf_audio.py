"""``hf:`` audio adapters end to end: ``ovmer bench`` on tiny random-weight Qwen2-Audio and Qwen2.5-Omni
(thinker) checkpoints built offline (tests/baselines/tiny_models.py) and the two-clip MER2023 tree of
conftest.py; Omni with each Table 2 input row (A,T / V,T / A,V,T)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ovmer.baselines.prompts import AUDIO_QUESTION, VIDEO_QUESTION, prompt_sha256
from ovmer.data.registry import load_samples
from ovmer.errors import BaselineSpecError
from ovmer.inference.model_table import build_answer_model
from ovmer.media.audio import load_audio
from tests.baselines.conftest import assert_batch_one_matches, bench_mer2023
from tests.baselines.tiny_models import build_qwen2_5_omni, build_qwen2_audio

SYSTEM = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"


def _chat(media: str, q: str) -> str:
    return f"{SYSTEM}<|im_start|>user\n{media}{q}<|im_end|>\n<|im_start|>assistant\n"


AUDIO = "<|audio_bos|><|AUDIO|><|audio_eos|>"
VIDEO = "<|vision_bos|><|VIDEO|><|vision_eos|>"
#: (model_type, modalities option) → (builder, the chat text around a question Q, the question family).
CASES: dict[tuple[str, str], tuple[Callable[[Path], Path], Callable[[str], str], str]] = {
    ("qwen2_audio", "at"): (build_qwen2_audio, lambda q: _chat(f"Audio 1: {AUDIO}\n", q), "audio"),
    ("qwen2_5_omni", "at"): (build_qwen2_5_omni, lambda q: _chat(AUDIO, q), "audio"),
    ("qwen2_5_omni", "vt"): (build_qwen2_5_omni, lambda q: _chat(VIDEO, q), "video"),
    ("qwen2_5_omni", "avt"): (build_qwen2_5_omni, lambda q: _chat(VIDEO + AUDIO, q), "video"),
}
#: SHA-256 of m_one's whole chat text (subtitle "I am happy.") per case, pinned.
PROMPT_SHA256 = {
    ("qwen2_audio", "at"): "d6d89c403318aa4e87c2971008f4ef446041626042351b9fad2b398042f3d9ac",
    ("qwen2_5_omni", "at"): "0408d5753614725df2ee2761f871bd2769efbea1e73a217b1380971904d3157e",
    ("qwen2_5_omni", "vt"): "5debbcefbc8fa242fe180c42c444a60ee52be312922ff3c89160b33388ab0096",
    ("qwen2_5_omni", "avt"): "76bdb37ec1971a3890db62484b238bae17e675846f94d8d7c850ec2add21a0e2",
}
BUILDERS = {"qwen2_audio": build_qwen2_audio, "qwen2_5_omni": build_qwen2_5_omni}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {name: build(tmp_path_factory.mktemp(name)) for name, build in BUILDERS.items()}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES), ids=lambda c: f"{c[0]}-{c[1]}")
def test_bench_end_to_end(
    case: tuple[str, str],
    folders: dict[str, Path],
    tree: Path,
    tmp_path: Path,
    wheel_dir: Path,
) -> None:
    """Records with provenance and the prompt's exact hashes; batched greedy answers equal batch-1 answers."""
    model_type, modalities = case
    _, template, family = CASES[case]
    folder = folders[model_type]
    spec = f"hf:{folder}?max_new_tokens=4&batch_size=2&modalities={modalities}"
    results, records = bench_mer2023(spec, tree, tmp_path / "run", wheel_dir)
    assert results["model"].startswith(f"hf:{folder}[{model_type};decoding=greedy,frames=8,max_new_tokens=4,")
    assert f"modalities={modalities}," in results["model"]
    fixed, prefix = (
        (VIDEO_QUESTION, "Subtitle content of this video: ")
        if family == "video"
        else (AUDIO_QUESTION, "Subtitle content of the audio: ")
    )
    questions = {"m_one": f"{prefix}I am happy.; {fixed}", "m_two": f"{prefix}; {fixed}"}
    for name, record in records.items():
        details = record["details"]
        assert details["question_sha256"] == prompt_sha256(questions[name])
        assert details["prompt_sha256"] == prompt_sha256(template(questions[name]))
        assert (details["subtitle_variant"], details["modalities"], details["decoding"]) == (
            "on",
            modalities,
            "greedy",
        )
        assert 1 <= details["generated_tokens"] <= 4
        assert ("audio_seconds" in details) == ("a" in modalities)
        assert details.get("frames") == (8 if "v" in modalities else None)
        provenance = record["inputs"]  # from the one inputs builder
        assert provenance["audio_source"] == "video" and provenance["num_frames"] == 8
        if "a" in modalities:
            assert details["audio_seconds"] == pytest.approx(provenance["audio_seconds"], abs=1e-3)
    assert records["m_one"]["details"]["prompt_sha256"] == PROMPT_SHA256[case]

    assert_batch_one_matches(
        f"hf:{folder}?max_new_tokens=4&batch_size=1&modalities={modalities}", tree, records
    )


def _fed(model: Any, items: list[Any]) -> dict[str, Any]:
    """The keyword arguments the adapter passes to ``generate`` for ``items``."""
    seen: dict[str, Any] = {}
    generate = model.model.generate

    def spy(**kwargs: Any) -> Any:
        seen.update(kwargs)
        return generate(**kwargs)

    model.model.generate = spy
    model.answer_batch(items)
    return seen


@pytest.mark.parametrize("model_type", sorted(BUILDERS))
def test_audio_features_are_the_whisper_extractor_on_the_builders_waveform(
    model_type: str,
    folders: dict[str, Path],
    tree: Path,
) -> None:
    """The features fed equal the checkpoint's Whisper extractor on ``ModelInputs.waveform`` (the whole
    track the builder decoded); inputs without it (a ``prepare`` cache) read the recorded file again."""
    from transformers import WhisperFeatureExtractor

    folder = folders[model_type]
    model = build_answer_model(f"hf:{folder}?max_new_tokens=1&modalities=at")
    samples = sorted(load_samples(tree, "mer2023"), key=lambda s: s.name)
    items = [model.load(s) for s in samples]
    for item in items:
        assert item.waveform is not None and item.waveform.dtype == np.float32
        assert item.waveform.shape[0] / 16000 == pytest.approx(item.provenance.audio_seconds)
        assert np.array_equal(item.waveform, load_audio(item.provenance.audio_file))
    extractor = WhisperFeatureExtractor.from_pretrained(folder)
    expected = extractor(
        [item.waveform for item in items],
        sampling_rate=16000,
        return_attention_mask=True,
        padding="max_length",
        return_tensors="pt",
    )
    fed = _fed(model, items)
    assert fed["input_features"].shape == (2, 128, 3000)
    assert np.array_equal(fed["input_features"].numpy(), expected["input_features"].numpy())
    assert np.array_equal(fed["feature_attention_mask"].numpy(), expected["attention_mask"].numpy())
    for item in items:
        item.waveform = None  # as InputsCache.read gives them
    refetched = _fed(model, items)
    assert np.array_equal(refetched["input_features"].numpy(), expected["input_features"].numpy())


def test_modalities_and_decoding_are_checked(folders: dict[str, Path]) -> None:
    with pytest.raises(BaselineSpecError, match="reads a, t; modalities=avt asks for v"):
        build_answer_model(f"hf:{folders['qwen2_audio']}?modalities=a,v,t")
    with pytest.raises(BaselineSpecError, match="upstream did not run qwen2_5_omni"):
        build_answer_model(f"hf:{folders['qwen2_5_omni']}?decoding=paper")
