"""Each filter rule on hand-made corpora: length tails, the vote (ties, abstentions, hit_or_not), the
speaker stage's plug-in point, label caching, the funnel, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ovmer.annotate.filter import FilterSettings, description_length, filter_corpus
from ovmer.annotate.speaker import SpeakerVerdict
from ovmer.annotate.vote import read_votes, tally
from ovmer.cli.main import app
from ovmer.errors import AnnotationError, InputFormatError, MediaError
from ovmer.labels.mapping import LabelMapper
from ovmer.llm.lexicon import LexiconExtractor
from ovmer.metrics.hitrate import hit_or_not
from ovmer.results.jsonl import append_json_lines, read_json_lines
from tests.annotate.conftest import write_votes

NO_SPEAKER = FilterSettings(speaker=False, length=False)


def make_corpus(folder: Path, descriptions: dict[str, str]) -> Path:
    rows: list[dict[str, Any]] = [
        {"name": n, "video": f"/v/{n}.mp4", "subtitle": "", "description": d} for n, d in descriptions.items()
    ]
    append_json_lines(folder / "clips.jsonl", rows)
    return folder


def run(
    folder: Path, maps: Any, settings: FilterSettings, votes: list[Path], **kw: Any
) -> dict[str, dict[str, Any]]:
    filter_corpus(
        folder, votes=votes, settings=settings, extractor=LexiconExtractor(maps), mapper=LabelMapper(maps),
        show_progress=False, **kw,
    )  # fmt: skip
    return {r["name"]: r for r in read_json_lines(folder / "filter.jsonl")}


def test_hit_or_not_is_any_wheel_overlap_and_neutral_never_hits(maps: Any) -> None:
    mapper = LabelMapper(maps)
    assert hit_or_not(["happy"], ["joyful", "excited"], mapper)
    assert hit_or_not(["Happy "], ["happy"], mapper)  # lower-cased and stripped like the hit rate
    assert not hit_or_not(["happy"], ["sad", "angry"], mapper)
    assert not hit_or_not(["neutral"], ["neutral"], mapper)
    assert not hit_or_not(["neutral"], [], mapper)  # empty counts as ['neutral'], which maps to nothing


@pytest.mark.parametrize(
    ("votes", "winner"),
    [
        (["happy", "happy", "sad"], "happy"),
        (["happy", "sad"], None),  # a tie
        (["happy", "sad", "angry"], None),  # a plurality below half
        (["happy", None, None], "happy"),  # abstentions cast no vote
        ([None, None], None),
    ],
)
def test_majority_of_votes_cast(votes: list[str | None], winner: str | None) -> None:
    assert tally(votes).winner == winner


def test_vote_stages_keep_only_agreeing_descriptions(tmp_path: Path, maps: Any) -> None:
    folder = make_corpus(
        tmp_path,
        {
            "agree": "She smiles and laughs; overall she is joyful and delighted.",
            "wrong_emotion": "He shouts and slams the door; he is angry and furious.",
            "wrong_sentiment": "She smiles; the character is happy.",
            "tie": "She is happy.",
            "abstain": "She is happy.",
        },
    )
    a = write_votes(tmp_path / "a.csv", [("agree", "happy", "positive"), ("wrong_emotion", "happy", "negative"),
        ("wrong_sentiment", "happy", "negative"), ("tie", "happy", "positive"), ("abstain", "", "")])  # fmt: skip
    b = write_votes(tmp_path / "b.csv", [("agree", "happy", "positive"), ("wrong_emotion", "happy", "negative"),
        ("wrong_sentiment", "happy", "negative"), ("tie", "sad", "positive")])  # fmt: skip
    verdicts = run(folder, maps, NO_SPEAKER, [a, b])
    assert verdicts["agree"]["kept"]
    assert (
        verdicts["wrong_emotion"]["stage"] == "emotion" and "'happy'" in verdicts["wrong_emotion"]["reason"]
    )
    assert verdicts["wrong_sentiment"]["stage"] == "sentiment"
    assert verdicts["tie"]["stage"] == "emotion" and "no majority" in verdicts["tie"]["reason"]
    assert verdicts["abstain"]["reason"] == "vote undecided: every member abstained"
    kept = run(folder, maps, FilterSettings(speaker=False, length=False, undecided="keep"), [a, b])
    assert kept["tie"]["kept"] and kept["abstain"]["kept"]
    emotion_only = run(
        folder, maps, FilterSettings(speaker=False, length=False, sentiment_vote=False), [a, b]
    )
    assert emotion_only["wrong_sentiment"]["kept"]


def test_length_tails_by_quantile(tmp_path: Path, maps: Any) -> None:
    words = {f"c{k}": " ".join(["calm"] * n) for k, n in enumerate([1, 5, 6, 7, 8, 30])}
    folder = make_corpus(tmp_path, words)
    verdicts = run(
        folder,
        maps,
        FilterSettings(speaker=False, emotion_vote=False, sentiment_vote=False, length_quantiles=(0.1, 0.9)),
        [],
    )
    assert [n for n, v in verdicts.items() if not v["kept"]] == ["c0", "c5"]
    assert all(verdicts[n]["stage"] == "length" for n in ("c0", "c5"))
    funnel = json.loads((folder / "funnel.json").read_text())
    [stage] = funnel["stages"]
    assert (stage["stage"], stage["in"], stage["removed"]) == ("length", 6, 2)
    assert funnel["length_cutoffs"]["low"] > 1 and funnel["length_cutoffs"]["high"] < 30
    assert funnel["clips_out"] == 4 and "| length | 6 | 2 |" in (folder / "funnel.md").read_text()
    assert description_length("一段中文描述") == 6


class FirstClipSpeaks:
    """A stand-in active-speaker detector (the plug-in point a TalkNet wrapper would use)."""

    identity = "first-speaks:v1"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def check(self, video: Path, audio: Path | None) -> SpeakerVerdict:
        self.calls.append(video.stem)
        if video.stem == "c0":
            return SpeakerVerdict(True, "speaks", 1.0)
        if video.stem == "c1":
            return SpeakerVerdict(None, "no speech to attribute (kept)")
        if video.stem == "c3":
            raise MediaError(f"{video}: file not found")
        return SpeakerVerdict(False, "off-screen speaker", 0.0)


def test_speaker_plug_in_and_its_cache(tmp_path: Path, maps: Any) -> None:
    folder = make_corpus(tmp_path, {"c0": "happy", "c1": "sad", "c2": "calm", "c3": "gone"})
    settings = FilterSettings(length=False, emotion_vote=False, sentiment_vote=False)
    check = FirstClipSpeaks()
    verdicts = run(folder, maps, settings, [], speaker_check=check)
    assert [v["kept"] for v in verdicts.values()] == [True, True, False, False]
    assert verdicts["c2"]["reason"] == "off-screen speaker"
    assert verdicts["c3"]["reason"] == "check failed: MediaError: /v/c3.mp4: file not found"
    again = FirstClipSpeaks()
    run(folder, maps, settings, [], speaker_check=again)
    assert again.calls == ["c3"]  # the others came from speaker.jsonl; a failed check is tried again


def test_labels_are_reused_until_the_description_changes(tmp_path: Path, maps: Any) -> None:
    folder = make_corpus(tmp_path, {"a": "She is happy.", "b": "He is sad."})
    settings = FilterSettings(speaker=False, length=False, emotion_vote=False, sentiment_vote=False)
    run(folder, maps, settings, [])
    append_json_lines(folder / "clips.jsonl", [{"name": "b", "description": "He is angry."}])
    run(folder, maps, settings, [])
    rows = read_json_lines(folder / "labels.jsonl")
    assert [r["name"] for r in rows] == ["a", "b", "b"] and rows[-1]["labels"] == ["angry"]


def test_bad_vote_files_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    header = "name,emotion,sentiment,emotion_prob,sentiment_prob\n"
    path.write_text(header + "a,happy,glad,,\n")
    with pytest.raises(InputFormatError, match=r"v\.csv: line 2: sentiment 'glad'"):
        read_votes(path)
    path.write_text("name,emotion\na,happy\n")
    with pytest.raises(InputFormatError, match="header"):
        read_votes(path)
    path.write_text(header + "a,happy,positive,,\na,sad,negative,,\n")
    with pytest.raises(InputFormatError, match="duplicate name 'a'"):
        read_votes(path)
    path.write_text(header + "a,Happy,,0.9,\n")
    assert read_votes(path)["a"].emotion == "happy"


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path, wheel_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["annotate", "filter", str(tmp_path), "--assets", str(wheel_dir)])
    assert result.exit_code == 2 and "annotate describe" in result.output and "Traceback" not in result.output
    make_corpus(tmp_path, {"a": "She is happy."})
    result = runner.invoke(
        app, ["annotate", "filter", str(tmp_path), "--no-speaker", "--assets", str(wheel_dir)]
    )
    assert result.exit_code == 2 and "--votes" in result.output
    result = runner.invoke(app, ["annotate", "export", str(tmp_path)])
    assert result.exit_code == 2 and "annotate filter" in result.output
    result = runner.invoke(
        app, ["annotate", "filter", str(tmp_path), "stray.csv", "--assets", str(wheel_dir)]
    )
    assert result.exit_code == 2 and "unexpected" in result.output and "stray.csv" in result.output
    with pytest.raises(AnnotationError, match="LOW <= HIGH"):
        filter_corpus(tmp_path, settings=FilterSettings(speaker=False, length_quantiles=(0.9, 0.1)), votes=[])
    with pytest.raises(AnnotationError, match="undecided"):
        filter_corpus(
            tmp_path, settings=FilterSettings(speaker=False, undecided="maybe"), votes=[tmp_path / "x.csv"]
        )


def test_votes_folder_reads_every_csv(tmp_path: Path, wheel_dir: Path) -> None:
    folder = make_corpus(tmp_path / "corpus", {"a": "She is happy and cheerful."})
    votes = tmp_path / "votes"
    votes.mkdir()
    for k in range(3):
        write_votes(votes / f"m{k}.csv", [("a", "happy" if k else "sad", "positive")])
    (votes / "predict_report.json").write_text("{}")
    args = ["annotate", "filter", str(folder), "--no-speaker", "--no-length", "--votes", str(votes)]
    result = CliRunner().invoke(app, [*args, "--assets", str(wheel_dir)])
    assert result.exit_code == 0, result.output
    funnel = json.loads((folder / "funnel.json").read_text())
    assert funnel["vote_members"] == 3 and funnel["clips_out"] == 1


def test_review_and_decide_commands(tmp_path: Path) -> None:
    folder = make_corpus(tmp_path, {"a": "She is happy.", "b": "He is sad."})
    runner = CliRunner()
    decided = runner.invoke(
        app, ["annotate", "decide", str(folder), "a", "edit", "--reviewer", "ann", "--labels", "joy, relief"]
    )
    assert decided.exit_code == 0, decided.output
    listed = runner.invoke(app, ["annotate", "review", str(folder), "--status", "all", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {r["name"]: r for r in map(json.loads, listed.output.splitlines())}
    assert rows["a"]["status"] == "edited" and rows["a"]["decision"]["labels"] == ["joy", "relief"]
    assert rows["b"]["status"] == "pending" and rows["b"]["description"] == "He is sad."
    pending = runner.invoke(app, ["annotate", "review", str(folder)])
    assert pending.exit_code == 0 and "He is sad." in pending.output and "She is happy." not in pending.output
    bad = runner.invoke(app, ["annotate", "decide", str(folder), "zzz", "accept", "--reviewer", "ann"])
    assert bad.exit_code == 2 and "no clip named 'zzz'" in bad.output
    bad = runner.invoke(app, ["annotate", "review", str(folder), "--status", "maybe"])
    assert bad.exit_code == 2 and "--status" in bad.output
