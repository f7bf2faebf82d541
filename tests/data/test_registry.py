"""The registry reads every official layout and the real label files with the benchmark test sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovmer.data.benchmarks import BENCHMARKS, UNIBENCH_IDS, get_benchmark
from ovmer.data.registry import (
    benchmark_samples,
    dataset_info,
    list_datasets,
    load_samples,
    manifest_samples,
)
from ovmer.errors import DatasetError, InputFormatError
from tests.data.trees import build_tree

#: MER-UniBench test sizes (docs/datasets.md, 'Registered datasets'; issue 3).
UNIBENCH_SIZES = {
    "mer2023": 411, "mer2024": 1169, "meld": 2610, "iemocap": 1241, "cmumosi": 686,
    "cmumosei": 4659, "sims": 457, "simsv2": 1034, "ovmerdplus": 532,
}  # fmt: skip

REFERENCE_LABELLED = ["mer2023", "meld", "iemocap", "cmumosi", "cmumosei", "sims", "simsv2"]


def test_registry_lists_every_dataset() -> None:
    ids = [d.id for d in list_datasets()]
    assert ids[:9] == list(UNIBENCH_IDS)
    assert {"ovmerd", "mer2025ov", "mercaptionplus"} <= set(ids)
    assert {i: BENCHMARKS[i].test_size for i in UNIBENCH_IDS} == UNIBENCH_SIZES
    assert get_benchmark("mercaptionplus").test_size == 31_327 and not dataset_info("mercaptionplus").scored
    assert dataset_info("mer2024").subtitle.endswith("'chinese' (zh)")
    assert "openface_face/<name>/<name>.npy" in dataset_info("ovmerd").media


@pytest.mark.parametrize("dataset_id", REFERENCE_LABELLED)
def test_real_label_files_give_the_test_sizes(reference: Path, dataset_id: str) -> None:
    samples = benchmark_samples(reference / "labels", dataset_id, require_subtitles=False)
    assert len(samples) == UNIBENCH_SIZES[dataset_id]
    assert len({s.name for s in samples}) == len(samples)


def test_real_mer2023_subtitles_are_english(reference: Path) -> None:
    samples = benchmark_samples(reference / "labels", "mer2023")
    by_name = {s.name: s for s in samples}
    assert by_name["sample_00001998"].subtitle.startswith("If you're really feeling unwell")
    assert by_name["sample_00001998"].label == "worried"


@pytest.mark.parametrize("dataset_id", list(BENCHMARKS))
def test_every_official_layout(tmp_path: Path, media: dict[str, Path], dataset_id: str) -> None:
    tree = build_tree(tmp_path, dataset_id, clip=media["clip"], wav=media["wav"], avi_clip=media["avi"])
    # Both the dataset folder and its parent work as ROOT.
    for root in (tmp_path, tree.folder):
        samples = load_samples(root, dataset_id)
        assert [s.name for s in samples] == tree.test_names
        assert {s.name: s.label for s in samples} == tree.labels
        assert {s.name: s.subtitle for s in samples} == tree.subtitles
        for sample in samples:
            assert sample.video is not None and sample.video.is_file(), sample.video
            assert sample.audio is not None and sample.audio.is_file()
            assert sample.face is not None and sample.face.is_file()
            assert sample.split == "test"


def test_iemocap_test_is_session_five_and_avi(tmp_path: Path, media: dict[str, Path]) -> None:
    tree = build_tree(tmp_path, "iemocap", clip=media["clip"], wav=media["wav"], avi_clip=media["avi"])
    samples = load_samples(tmp_path, "iemocap")
    assert all(s.name[4] == "5" for s in samples) and len(samples) == len(tree.test_names)
    assert all(s.video is not None and s.video.suffix == ".avi" for s in samples)


def test_mer2023_prefers_mp4_over_avi(tmp_path: Path, media: dict[str, Path]) -> None:
    tree = build_tree(tmp_path, "mer2023", clip=media["clip"], wav=media["wav"])
    name = tree.test_names[0]
    (tree.folder / "video" / f"{name}.mp4").rename(tree.folder / "video" / f"{name}.avi")
    samples = {s.name: s for s in load_samples(tmp_path, "mer2023")}
    assert samples[name].video is not None and samples[name].video.suffix == ".avi"
    assert (
        samples[tree.test_names[1]].video is not None and samples[tree.test_names[1]].video.suffix == ".mp4"
    )


def test_val_split(tmp_path: Path, media: dict[str, Path]) -> None:
    build_tree(tmp_path, "cmumosi", clip=media["clip"], wav=media["wav"])
    build_tree(tmp_path, "mer2023", clip=media["clip"], wav=media["wav"])
    with pytest.raises(InputFormatError, match="empty"):
        load_samples(tmp_path, "cmumosi", split="val")  # the generated val split is empty
    with pytest.raises(DatasetError, match="no 'val' split"):
        load_samples(tmp_path, "mer2023", split="val")


def test_missing_label_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match=r"label-6way\.npz"):
        load_samples(tmp_path, "mer2023")


def test_unknown_dataset() -> None:
    with pytest.raises(DatasetError, match="unknown dataset 'nope'"):
        load_samples(Path("."), "nope")


def test_csv_manifest(tmp_path: Path, media: dict[str, Path]) -> None:
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a.mp4").write_bytes(media["clip"].read_bytes())
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "name,video,audio,subtitle,labels\n"
        "a,clips/a.mp4,,Hello there,\"['happy', 'excited']\"\n"
        f'b,{media["clip"]},{media["wav"]},,"sad, tired"\n',
        encoding="utf-8",
    )
    samples = load_samples(None, f"csv:{manifest}")
    assert [s.name for s in samples] == ["a", "b"]
    assert samples[0].video == (tmp_path / "clips" / "a.mp4").resolve() and samples[0].audio is None
    assert samples[0].subtitle == "Hello there" and samples[1].subtitle is None
    assert samples[0].label == "happy, excited" and samples[1].label == "sad, tired"
    assert samples[1].audio == media["wav"].resolve()
    assert samples[0].face is None and samples[1].face is None
    manifest.write_text("name,video,face\nc,clips/a.mp4,faces/c.npy\n", encoding="utf-8")
    assert load_samples(None, f"csv:{manifest}")[0].face == (tmp_path / "faces" / "c.npy").resolve()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,path\na,x.mp4\n", r"needs name and video \(or, for the face model, face\)"),
        ("name,video\na,x.mp4\na,y.mp4\n", "duplicate sample name"),
        ("name,video\n", "no rows"),
        ("name,video\n,x.mp4\n", "empty 'name'"),
        ("name,video,subtitle\na,x.mp4,hi, there\n", "line 2 has 4 fields"),
        ("", "empty"),
    ],
)
def test_bad_manifests(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "m.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputFormatError, match=message):
        manifest_samples(path)


def test_manifest_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes("name,video,subtitle\na,x.mp4,你好\n".encode("gbk"))
    with pytest.raises(InputFormatError, match="not valid UTF-8"):
        manifest_samples(path)


def test_descriptions_of_ov_sets(tmp_path: Path, media: dict[str, Path]) -> None:
    tree = build_tree(tmp_path, "mercaptionplus", clip=media["clip"], wav=media["wav"])
    assert all(s.description is None for s in load_samples(tmp_path, "mercaptionplus"))
    path = tree.folder / "track3_train_mercaptionplus.csv"
    rows = [f'{n},"In the text, the caption reads: {n}."' for n in tree.test_names]
    path.write_text("name,reason\n" + "\n".join(rows) + "\n", encoding="utf-8")
    samples = load_samples(tmp_path, "mercaptionplus")
    assert samples[0].description == f"In the text, the caption reads: {tree.test_names[0]}."
    first, second = tree.test_names[:2]
    path.write_text(f'name,reason\n{first},\n{second},"  "\n', encoding="utf-8")  # empty cells
    assert all(s.description is None for s in load_samples(tmp_path, "mercaptionplus"))
    from ovmer.data.check import check_dataset

    missing = [
        p
        for p in check_dataset(tmp_path, "mercaptionplus", deep=False).problems
        if p.kind == "description_missing"
    ]
    assert {p.sample for p in missing} == set(tree.test_names) and all(
        p.severity == "warning" for p in missing
    )
