"""Training labels: the registered datasets' official label files and the CSV format."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ovmer.classifier.labels import read_labels, sentiment_from_valence
from ovmer.errors import DatasetError, InputFormatError


@pytest.fixture
def labels_root(reference: Path) -> Path:
    return reference / "labels"


def test_meld_reads_emotion_words_from_indices_and_has_no_sentiment(labels_root: Path) -> None:
    table = read_labels("meld", labels_root)
    assert len(table.samples) == 9989  # train_corpus
    assert table.emotion_labels == ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
    assert not table.has_sentiment  # MELD rows carry val = -10, upstream's "no valence"
    both = read_labels("meld", labels_root, splits=["train_corpus", "val_corpus"])
    assert len(both.samples) == 9989 + 1109


def test_mer2023_gives_emotion_and_valence_sign(labels_root: Path) -> None:
    table = read_labels("mer2023", labels_root)
    assert len(table.samples) == 3373
    assert table.emotion_labels == ("angry", "happy", "neutral", "sad", "surprise", "worried")
    first = table.samples[0]  # sample_00002721: neutral, val -0.25
    assert (first.name, first.emotion, first.sentiment) == ("sample_00002721", "neutral", "negative")
    assert set(Counter(s.sentiment for s in table.samples)) == {"negative", "neutral", "positive"}


def test_sentiment_datasets_have_no_emotion_and_iemocap_leaves_session_5_out(labels_root: Path) -> None:
    mosi = read_labels("cmumosi", labels_root)
    assert len(mosi.samples) == 1284 and mosi.emotion_labels == () and mosi.has_sentiment
    iemocap = read_labels("iemocap", labels_root)
    assert len(iemocap.samples) == 5531 - 1241
    assert not any(s.name[4] == "5" for s in iemocap.samples)
    assert iemocap.emotion_labels == ("anger", "happy", "neutral", "sad")


def test_bad_dataset_requests_are_clear_errors(labels_root: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown dataset 'nope'"):
        read_labels("nope", labels_root)
    with pytest.raises(DatasetError, match="open-vocabulary"):
        read_labels("ovmerdplus", labels_root)
    with pytest.raises(DatasetError, match="--data-root"):
        read_labels("meld", None)
    with pytest.raises(DatasetError, match="no split 'dev'"):
        read_labels("meld", labels_root, splits=["dev"])
    with pytest.raises(InputFormatError, match="label file"):
        read_labels("meld", tmp_path)


def test_csv_labels_with_sentiment_words_valences_and_gaps(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("name,emotion,valence\na,Happy,2.5\nb,,-1\nc,sad,\nd,,\n")
    table = read_labels(f"csv:{path}")
    assert table.dataset == "mine"
    assert [(s.name, s.emotion, s.sentiment) for s in table.samples] == [
        ("a", "happy", "positive"),
        ("b", None, "negative"),
        ("c", "sad", None),
    ]  # d has no label at all and is left out
    words = tmp_path / "words.csv"
    words.write_text("name,emotion,sentiment\na,happy,positive\n")
    assert read_labels(f"csv:{words}").samples[0].sentiment == "positive"
    assert sentiment_from_valence(0.1, neutral_band=0.2) == "neutral"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,video\na,x.mp4\n", "lacks 'name' and a label column"),
        ("name,emotion,sentiment\na,happy,great\n", "sentiment 'great'"),
        ("name,emotion,valence\na,happy,lots\n", "valence 'lots'"),
        ("name,emotion\na,happy\na,sad\n", "duplicate name 'a'"),
        ("name,emotion\na,happy,extra\n", "line 2 has 3 fields"),
        ("name,emotion\n", "no labelled rows"),
    ],
)
def test_bad_label_csvs_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputFormatError, match=message):
        read_labels(f"csv:{path}")
    with pytest.raises(InputFormatError, match="cannot read"):
        read_labels(f"csv:{tmp_path / 'missing.csv'}")
