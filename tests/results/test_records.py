"""The one answer record, its one JSONL reader/writer, the official writer, and the one reader that
recognises every prediction format (``ovmer.results``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ovmer.errors import InputFormatError
from ovmer.results import (
    AnswerRecord,
    Predictions,
    append_records,
    read_predictions,
    read_records,
    write_official,
    write_records,
)

FULL = AnswerRecord(
    name="sample_00000001",
    text="He smiles: happy.",
    ov_labels=["happy", "relieved"],
    sentiment="positive",
    model="affectgpt:x[tiny;mode=greedy]",
    dataset="mer2023",
    task="ovlabels",
    run="r",
    checkpoint="checkpoint_000050_loss_0.527",
    inputs={"face_source": "openface", "audio_source": "wav", "frame_indices": [0, 1]},
    details={"generated_tokens": 7},
    timings={"decode_s": 0.25},
)


def test_jsonl_round_trip_keeps_every_field(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    failed = AnswerRecord("sample_00000002", error="MediaError: x.mp4: cannot read")
    write_records(path, [FULL, failed])
    assert read_records(path) == [FULL, failed]
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[1])
    assert first == {"name": "sample_00000002", "error": "MediaError: x.mp4: cannot read"}  # no nulls


def test_append_survives_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    append_records(path, [AnswerRecord("a", text="one")])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"name": "b", "te')  # killed mid-write
    with pytest.raises(InputFormatError, match=r"answers\.jsonl:2: not valid JSON"):
        read_records(path)  # a results file read for scoring is never silently repaired
    assert [r.name for r in read_records(path, repair_torn_tail=True)] == ["a"]
    assert path.read_text(encoding="utf-8") == '{"name": "a", "text": "one"}\n'  # repaired on disk
    append_records(path, [AnswerRecord("b", text="two")])
    assert [r.text for r in read_records(path)] == ["one", "two"]
    assert read_records(tmp_path / "absent.jsonl", repair_torn_tail=True) == []


def test_a_corrupt_line_before_the_last_is_never_dropped(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    path.write_text('{"name": "a"}\n{oops\n{"name": "c"}\n', encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"answers\.jsonl:2: .*move the file away"):
        read_records(path, repair_torn_tail=True)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('["a"]', "non-empty string 'name'"),
        ('{"name": ""}', "non-empty string 'name'"),
        ('{"name": "a", "ov_labels": 3}', "'ov_labels' must be a string or a list"),
        ('{"name": "a", "text": ["x"]}', "'text' must be a string"),
        ('{"name": "a", "inputs": "wav"}', "'inputs' must be an object"),
    ],
)
def test_bad_records_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"name": "ok"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match=rf"p\.jsonl:2: .*{message}"):
        read_predictions(path)


def test_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"name": "é"}\n'.encode("latin-1"))
    with pytest.raises(InputFormatError, match=r"latin1\.jsonl: not UTF-8"):
        read_predictions(path)


def test_official_writer_and_reader_agree_with_upstreams_layout(tmp_path: Path) -> None:
    predictions = Predictions("mem", {FULL.name: FULL, "b": AnswerRecord("b", text="Calm.", ov_labels="[]")})
    base = tmp_path / "results-mer2023" / "r" / "ckpt.npz"
    written = write_official(predictions, base)
    assert [p.name for p in written] == ["ckpt.npz", "ckpt-openset.npz", "ckpt-openset-sentiment.npz"]
    # Upstream reads these with plain numpy (allow_pickle=True for name2reason).
    reasons = np.load(base, allow_pickle=True)["name2reason"].tolist()
    assert reasons == {FULL.name: "He smiles: happy.", "b": "Calm."}
    with np.load(written[1]) as archive:
        assert archive["filenames"].tolist() == [FULL.name, "b"]
        assert archive["fileitems"].tolist() == [
            "[happy, relieved]",
            "[]",
        ]  # lists stored as upstream prints them
    back = read_predictions(base)  # a base pulls in its siblings
    assert back.field_map("text") == {FULL.name: "He smiles: happy.", "b": "Calm."}
    assert back.field_map("ov_labels") == {FULL.name: "[happy, relieved]", "b": "[]"}
    assert back.field_map("sentiment") == {FULL.name: "positive"}
    base.unlink()  # the base may be absent: its siblings are still one checkpoint
    assert read_predictions(base).field_map("ov_labels") == back.field_map("ov_labels")
    only_labels = read_predictions(written[1])
    assert only_labels.field_map("text") == {} and only_labels.has("ov_labels")


def test_old_sentiment_suffix_and_csv(tmp_path: Path) -> None:
    old = tmp_path / "x-sentiment.npz"
    np.savez_compressed(old, filenames=np.array(["a"]), fileitems=np.array(["negative"]))
    assert read_predictions(old).field_map("sentiment") == {"a": "negative"}
    assert read_predictions(tmp_path / "x.npz").field_map("sentiment") == {"a": "negative"}
    csv = tmp_path / "track2.csv"
    csv.write_text('name,openset\na,"[happy, sad]"\nb,\n', encoding="utf-8")
    assert read_predictions(csv).field_map("ov_labels") == {"a": "[happy, sad]", "b": ""}


def test_duplicates_are_counted_and_the_last_wins(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    write_records(
        path,
        [AnswerRecord("a", text="x", model="m"), AnswerRecord("a", text="y"), AnswerRecord("b", text="z")],
    )
    predictions = read_predictions(path)
    assert predictions.duplicates == {"a": 1} and predictions.conflicting_duplicates == ["a"]
    assert predictions.records["a"].text == "y" and predictions.records["a"].model == "m"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("p.txt", b"x", "unknown prediction format"),
        ("p.jsonl", b"", "file is empty"),
        ("p.jsonl", b"\n\n", "holds no predictions"),
        ("absent.jsonl", None, "prediction file not found"),
    ],
)
def test_unreadable_inputs_are_named(tmp_path: Path, name: str, content: bytes | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputFormatError, match=rf"{name}: {message}"):
        read_predictions(path)
