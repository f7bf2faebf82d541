"""``openai:URL#MODEL`` answer model against a real multimodal HTTP server on 127.0.0.1.

The server (``multimodal_server.py``) decodes every image and WAV it is sent and rejects a
malformed request, so these tests prove what goes over the wire: frames, audio, the exact question.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ovmer.baselines.openai import OpenAIEndpointAnswerer, openai_from_spec, parse_endpoint_spec
from ovmer.baselines.prompts import AUDIO_QUESTION, VIDEO_QUESTION, prompt_sha256, question
from ovmer.data.registry import Sample
from ovmer.errors import BackendError, BaselineSpecError
from ovmer.inference.model_table import build_answer_model
from ovmer.inference.protocol import AnswerModel
from ovmer.results.record import AnswerRecord

from .multimodal_server import ServerState, serve

pytest.importorskip("av")
pytestmark = pytest.mark.network

SUBTITLE = "I can't believe it {really}!"  # braces: the subtitle is inserted verbatim


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """A 10-frame 64×48 clip with a 1.5-s track, and a 2.5-s wav beside it (the wav wins)."""
    from tests.models.helpers import write_clip, write_wav

    folder = tmp_path_factory.mktemp("clip")
    video = write_clip(folder / "clip.mp4", [(20 * i, 100, 50) for i in range(10)], audio_seconds=1.5)
    wav = write_wav(folder / "clip.wav", 0.1 * np.random.default_rng(0).standard_normal(40000))
    return Sample("clip", video, wav, None, SUBTITLE, None, "test")


def _model(url: str, query: str = "") -> OpenAIEndpointAnswerer:
    model = openai_from_spec(f"{url}#tiny-omni" + (f"?{query}" if query else ""))
    assert isinstance(model, AnswerModel)
    return model


def _records(answers: list[AnswerRecord | Exception]) -> list[AnswerRecord]:
    assert all(isinstance(a, AnswerRecord) for a in answers), answers
    return [a for a in answers if isinstance(a, AnswerRecord)]


def test_frames_audio_and_question_go_over_the_wire(sample: Sample) -> None:
    state = ServerState()
    with serve(state) as url:
        full = _model(url, "modalities=a,v,t&frames=4&image_format=png&max_new_tokens=64")
        (record,) = _records(full.answer_batch([full.load(sample)]))
        audio_only = _model(url, "modalities=at")
        (heard,) = _records(audio_only.answer_batch([audio_only.load(sample)]))
        silent = _model(url, "subtitle=off&image_format=jpeg")
        (seen_only,) = _records(silent.answer_batch([silent.load(sample)]))
    first, second, third = state.seen
    # a, v, t: 4 frames as PNG at the builder's 224 × 224, the wav (2.5 s, not the video's 1.5 s), V + prefix.
    assert first.part_types == ["image_url"] * 4 + ["input_audio", "text"]
    assert first.image_sizes == [(224, 224)] * 4 and first.image_formats == ["PNG"] * 4
    assert first.audio_seconds == pytest.approx(2.5)
    assert first.question == f"Subtitle content of this video: {SUBTITLE}; " + VIDEO_QUESTION
    assert (first.model, first.max_tokens, first.temperature, first.seed) == ("tiny-omni", 64, 0.0, 0)
    assert first.authorization is None
    assert record.text == "Saw 4 frames and 2.50 s of audio. The person seems happy."
    assert record.inputs is not None and record.inputs["audio_source"] == "wav"
    assert record.inputs["num_frames"] == 4 and len(record.inputs["frame_indices"]) == 4
    assert record.details == {
        "question_sha256": prompt_sha256(first.question),
        "modalities": "avt",
        "subtitle_variant": "on",
        "subtitle": SUBTITLE,
        "http_attempts": 1,
        "images": 4,
        "finish_reason": "stop",
        "audio_seconds_sent": 2.5,
        "usage": {"prompt_tokens": 10, "completion_tokens": 12, "total_tokens": 22},
    }
    assert record.timings is not None and record.timings["request_s"] > 0 and "decode_s" in record.timings
    # a, t: no image, the audio question A with the audio prefix.
    assert second.part_types == ["input_audio", "text"]
    assert (
        second.question
        == question("audio", SUBTITLE)
        == f"Subtitle content of the audio: {SUBTITLE}; " + AUDIO_QUESTION
    )
    assert heard.details is not None and heard.details["modalities"] == "at"
    # Defaults with subtitle=off: v only, 8 JPEG frames, V alone, no audio part.
    assert third.part_types == ["image_url"] * 8 + ["text"] and third.image_formats == ["JPEG"] * 8
    assert third.question == VIDEO_QUESTION and third.audio_seconds is None
    assert seen_only.details is not None and seen_only.details["subtitle_variant"] == "off"
    assert seen_only.details["modalities"] == "v" and "audio_seconds_sent" not in seen_only.details
    assert "subtitle" not in seen_only.details  # not sent, not recorded as sent


def test_addsub_asks_without_the_subtitle_then_merges_it(
    sample: Sample, wheel_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """subtitle=addsub (upstream's nosubtitle-addsub) on an endpoint, as on hf: the question goes out
    without the subtitle, the answer is kept as details.clue and merged with the subtitle (the lexicon
    merger concatenates); a failed request stays that sample's error and is not merged."""
    monkeypatch.setenv("OVMER_ASSETS_DIR", str(wheel_dir))
    state = ServerState()
    with serve(state) as url:
        model = _model(url, "subtitle=addsub&merger=lexicon&frames=2")
        assert "subtitle=addsub" in model.identity and "merger=lexicon" in model.identity
        item = model.load(sample)
        broken = model.load(sample)
        broken.content.append({"type": "video", "video": "?"})  # the server answers 400
        record, failed = model.answer_batch([item, broken])
    (sent,) = state.seen  # the malformed request is refused before it is recorded
    assert sent.question == VIDEO_QUESTION and sent.part_types == ["image_url"] * 2 + ["text"]
    assert isinstance(record, AnswerRecord) and record.details is not None
    assert record.details["clue"] == "Saw 2 frames and no audio. The person seems happy."
    assert record.text == f'{record.details["clue"]} The character says: "{SUBTITLE}"'
    assert record.details["subtitle_variant"] == "addsub" and "subtitle" not in record.details
    assert isinstance(failed, BackendError)


def test_retries_on_server_errors_and_rate_limits(sample: Sample) -> None:
    for status in (500, 429):
        state = ServerState(fail_first=2, fail_status=status)
        with serve(state) as url:
            model = _model(url, "backoff=0.01&retries=3")
            (record,) = _records(model.answer_batch([model.load(sample)]))
        assert state.requests == 3
        assert record.details is not None and record.details["http_attempts"] == 3
    state = ServerState(fail_first=100, fail_status=503)
    with serve(state) as url:
        model = _model(url, "backoff=0.01&retries=1")
        item = model.load(sample)
        answers = model.answer_batch([item, item])
    assert all(isinstance(a, BackendError) for a in answers)
    assert "HTTP 503" in str(answers[0]) and "gave up after 2 attempts" in str(answers[0])
    assert state.requests == 4  # two samples, two attempts each


def test_a_bad_request_is_not_retried(sample: Sample) -> None:
    state = ServerState()
    with serve(state) as url:
        model = _model(url, "retries=3&backoff=0.01")
        item = model.load(sample)
        item.content.append({"type": "video", "video": "?"})  # a part the server does not know
        (answer,) = model.answer_batch([item])
    assert isinstance(answer, BackendError) and "HTTP 400" in str(answer)
    assert state.requests == 1


def test_timeout(sample: Sample) -> None:
    state = ServerState(delay_s=1.0)
    with serve(state) as url:
        model = _model(url, "timeout=0.2&retries=1&backoff=0.01")
        item = model.load(sample)
        started = time.perf_counter()
        (answer,) = model.answer_batch([item])
        elapsed = time.perf_counter() - started
    assert isinstance(answer, BackendError) and "timed out" in str(answer)
    assert "after 2 attempts" in str(answer) and elapsed < 0.9
    assert state.requests == 2


def test_requests_in_flight_are_bounded(sample: Sample) -> None:
    state = ServerState(delay_s=0.15)
    with serve(state) as url:
        model = _model(url, "concurrency=3&frames=1")
        assert model.batch_size == 3  # batch_size defaults to the concurrency
        wide = _model(url, "concurrency=3&batch_size=7&frames=1")
        item = wide.load(sample)
        started = time.perf_counter()
        answers = wide.answer_batch([item] * 7)
        elapsed = time.perf_counter() - started
    assert len(_records(answers)) == 7
    assert state.max_in_flight == 3  # never more, and the bound is used
    assert elapsed < 7 * 0.15  # in parallel, not one after the other


def test_api_key_comes_from_the_named_variable_and_is_never_recorded(
    sample: Sample, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OVMER_TEST_KEY", raising=False)
    with pytest.raises(BaselineSpecError, match="OVMER_TEST_KEY is not set"):
        build_answer_model("openai:http://127.0.0.1:1/v1#m?api_key_env=OVMER_TEST_KEY")
    monkeypatch.setenv("OVMER_TEST_KEY", "sk-secret-123")
    state = ServerState()
    with serve(state) as url:
        model = _model(url, "api_key_env=OVMER_TEST_KEY&frames=1")
        (record,) = _records(model.answer_batch([model.load(sample)]))
    assert state.seen[0].authorization == "Bearer sk-secret-123"
    assert "sk-secret" not in model.identity and "sk-secret" not in json.dumps(record.to_json())


def test_spec_parsing_and_errors() -> None:
    spec = parse_endpoint_spec("http://host:8000#org/model?modalities=a,v,t&temperature=0.2&retries=0")
    assert spec.base_url == "http://host:8000/v1" and spec.model == "org/model"
    assert spec.options.modalities == ("a", "v", "t") and spec.settings.temperature == 0.2
    assert spec.settings.retries == 0 and spec.batch_size == spec.settings.concurrency == 4
    model = build_answer_model("openai:http://host:8000/v1/#org/model?frames=2&seed=7")
    assert model.identity == (
        "openai:http://host:8000/v1#org/model[frames=2;image_format=jpeg;max_new_tokens=1024;"
        "modalities=vt;seed=7;subtitle=on;temperature=0.0;top_p=1.0]"
    )
    bad = {
        "http://h/v1": "openai:URL#MODEL",
        "h:8000/v1#m": "openai:URL#MODEL",
        "http://h/v1#m?decoding=paper": "known key",
        "http://h/v1#m?subtitle=addsub": "add merger=",
        "http://h/v1#m?timeout=0": "positive",
        "http://h/v1#m?concurrency=0": "at least 1",
        "http://h/v1#m?retries=x": "integer",
        "http://h/v1#m?top_p=2": r"\(0, 1\]",
        "http://h/v1#m?image_format=gif": "jpeg or png",
        "http://h/v1#m?modalities=v": "add t or set subtitle=off",
        "http://h/v1#m?modalities=avt&subtitle=off": "includes t",
        "http://h/v1#m?modalities=t": "must include a or v",
        "http://h/v1#m?timeout=5&timeout=6": "given twice",
    }
    for argument, message in bad.items():
        with pytest.raises(BaselineSpecError, match=message):
            parse_endpoint_spec(argument) if "modalities" not in argument else openai_from_spec(argument)


def test_bench_end_to_end(tmp_path: Path, wheel_dir: Path) -> None:
    """``ovmer bench --model openai:…`` on the tiny dataset tree of the bench tests: every clip answered
    over HTTP, the missing clip recorded, scores computed, a rerun sends nothing."""
    pytest.importorskip("mediapipe")
    from ovmer.cli.main import app
    from tests.bench.test_bench import _affectgpt_tree

    root = _affectgpt_tree(tmp_path / "data")
    out = tmp_path / "run"
    state = ServerState()
    with serve(state) as url:
        spec = f"openai:{url}#tiny?modalities=a,v,t&frames=2&concurrency=2&backoff=0.01"
        args = ["bench", "--model", spec, "--datasets", "mer2023,cmumosi", "--root", str(root)]
        args += ["--out", str(out), "--assets", str(wheel_dir)]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 3, result.output  # m_lost has no clip (docs/cli.md)
        assert state.requests == 3  # m_face, m_raw, s_one
        again = CliRunner().invoke(app, args)
        assert again.exit_code == 3, again.output
        assert state.requests == 3  # resumed: nothing asked again
    results = json.loads((out / "results.json").read_text())
    assert results["model"].startswith(f"openai:{url}#tiny[frames=2;")
    mer = results["datasets"]["mer2023"]
    assert (mer["answered"], list(mer["inference_failures"])) == (2, ["m_lost"])
    assert mer["scores"]["clean"]["score"] == pytest.approx(100 / 3)  # 'happy' for each: m_face right
    assert set(results["datasets"]["cmumosi"]["scores"]) == {"paper", "clean"}
    records = {
        r["name"]: r for r in map(json.loads, (out / "mer2023" / "answers.jsonl").read_text().splitlines())
    }
    assert records["m_face"]["inputs"]["audio_source"] == "wav"  # the dataset's wav, as the builder chose
    assert records["m_raw"]["inputs"]["audio_source"] == "video"
    assert records["m_face"]["text"] == "Saw 2 frames and 2.50 s of audio. The person seems happy."
    assert records["m_face"]["details"]["question_sha256"] == prompt_sha256(question("video", "I am happy."))
    by_question = {seen.question for seen in state.seen}
    assert question("video", "I am happy.") in by_question and question("video", "") in by_question
