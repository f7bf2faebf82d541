"""``ovmer prepare``: exit codes, errors.jsonl, resume, workers, and no half-written files after a kill."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.data.prepare import PrepareConfig, prepare_dataset
from ovmer.data.registry import load_samples
from ovmer.errors import DatasetError
from ovmer.media.cache import InputsCache
from ovmer.media.inputs import ModelInputs
from tests.data.trees import build_tree
from tests.synth import write_clip

pytest.importorskip("mediapipe", reason="prepare needs the [media] extra")
runner = CliRunner()


def load_prepared(cache: Path, name: str) -> ModelInputs:
    """A prepared sample read back through the cache class, as ``infer --prepared`` reads it."""
    return InputsCache(cache).read(name)


@pytest.fixture
def mixed_manifest(tmp_path: Path, media: dict[str, Path], real_clip_path: Path) -> Path:
    """Three good samples (real clip, synthesized clip + wav, non-ASCII name) and three bad ones."""
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(media["clip"], folder / "grey é 日本.mp4")
    shutil.copy(media["silent"], folder / "silent.mp4")
    (folder / "noise.mp4").write_bytes(np.random.default_rng(0).bytes(4000))
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "name,video,audio,subtitle\n"
        f"real,{real_clip_path},,\"I don't know! I, I, I don't have experience in this area.\"\n"
        f"silent_with_wav,clips/silent.mp4,{media['wav']},\n"
        "日本語,clips/grey é 日本.mp4,,\n"
        "corrupt,clips/noise.mp4,,\n"
        "missing,clips/gone.mp4,,\n"
        "silent_no_wav,clips/silent.mp4,,\n",
        encoding="utf-8",
    )
    return manifest


@pytest.fixture(scope="session")
def real_clip_path(reference: Path) -> Path:
    path = reference / "media" / "sample_00000000.mp4"
    if not path.is_file():
        pytest.skip(f"real demo clip not found at {path}")
    return path


def _errors(cache: Path) -> dict[str, dict[str, str]]:
    lines = (cache / "errors.jsonl").read_text(encoding="utf-8").splitlines()
    return {e["name"]: e for e in map(json.loads, lines)}


def test_prepare_records_failures_and_resumes(tmp_path: Path, mixed_manifest: Path) -> None:
    cache = tmp_path / "cache"
    args = ["prepare", str(tmp_path), "--dataset", f"csv:{mixed_manifest}", "--out", str(cache)]
    result = runner.invoke(app, args)
    assert result.exit_code == 3, result.output
    assert "3 prepared" in result.output and "3 failed" in result.output
    errors = _errors(cache)
    assert set(errors) == {"corrupt", "missing", "silent_no_wav"}
    assert "noise.mp4" in errors["corrupt"]["message"] and errors["corrupt"]["stage"] == "video"
    assert "file not found" in errors["missing"]["message"]
    assert errors["silent_no_wav"]["stage"] == "audio" and "no audio" in errors["silent_no_wav"]["message"]

    manifest = [
        json.loads(line) for line in (cache / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [m["name"] for m in manifest] == ["real", "silent_with_wav", "日本語"]

    real = load_prepared(cache, "real")
    assert real.frames is not None and real.frames.shape == (8, 224, 224, 3) and real.frames.dtype == np.uint8
    assert real.faces is not None and real.faces.shape == (8, 224, 224, 3) and real.audio.shape == (8, 32_000)
    assert real.subtitle == "I don't know! I, I, I don't have experience in this area."
    provenance = real.provenance
    assert provenance.face_found is not None and sum(provenance.face_found) >= 7
    assert provenance.face_source == "mediapipe" and provenance.subtitle_source == "dataset"
    assert provenance.frame_indices == [0, 11, 22, 33, 44, 55, 66, 77]
    crops = np.load(cache / "openface_face" / "real.npy")
    assert crops.shape == (8, 112, 112, 3) and crops.dtype == np.uint8  # upstream openface_face layout
    with_wav = load_prepared(cache, "silent_with_wav").provenance
    assert with_wav.audio_source == "wav" and str(with_wav.audio_file).endswith("tone.wav")

    again = runner.invoke(app, args)
    assert again.exit_code == 3
    assert "0 prepared, 3 already cached, 3 failed" in again.output

    # Fixing the bad samples and running again finishes the job with exit code 0.
    mixed_manifest.write_text(
        "\n".join(mixed_manifest.read_text(encoding="utf-8").splitlines()[:4]) + "\n", encoding="utf-8"
    )
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert (cache / "errors.jsonl").read_text() == ""


def test_workers_give_identical_results(tmp_path: Path, media: dict[str, Path]) -> None:
    clips = tmp_path / "clips"
    rows = ["name,video"]
    for i in range(4):
        write_clip(clips / f"c{i}.mp4", seconds=0.2 + 0.2 * i, width=48, height=32)
        rows.append(f"c{i},clips/c{i}.mp4")
    manifest = tmp_path / "m.csv"
    manifest.write_text("\n".join(rows) + "\n", encoding="utf-8")
    samples = load_samples(None, f"csv:{manifest}")
    one = prepare_dataset(samples, tmp_path / "one", workers=1)
    two = prepare_dataset(samples, tmp_path / "two", workers=2)
    assert one.done == two.done == 4 and one.ok and two.ok
    for i in range(4):
        a, b = load_prepared(tmp_path / "one", f"c{i}"), load_prepared(tmp_path / "two", f"c{i}")
        assert np.array_equal(a.audio, b.audio)
        assert a.frames is not None and b.frames is not None
        assert np.abs(a.frames.astype(int) - b.frames.astype(int)).max() <= 2  # decoder threads may differ


def test_official_faces_are_used_and_settings_are_guarded(tmp_path: Path, media: dict[str, Path]) -> None:
    tree = build_tree(tmp_path, "ovmerd", clip=media["clip"], wav=media["wav"])
    cache = tmp_path / "cache"
    result = runner.invoke(app, ["prepare", str(tmp_path), "-d", "ovmerd", "-o", str(cache), "--limit", "2"])
    assert result.exit_code == 0, result.output
    first = load_prepared(cache, tree.test_names[0])
    meta = InputsCache(cache).read_meta(tree.test_names[0])
    assert meta is not None and first.provenance.face_source == "openface"
    assert meta["face_file"].endswith(f"openface_face/{tree.test_names[0]}/{tree.test_names[0]}.npy")
    assert (
        first.faces is not None
        and first.faces.shape == (8, 224, 224, 3)
        and int(first.faces[0, 0, 0, 0]) == 100
    )
    assert meta["label"] == "sad" and first.subtitle == ""
    assert not (cache / "meta" / f"{tree.test_names[2]}.json").exists()  # --limit 2
    clash = runner.invoke(
        app, ["prepare", str(tmp_path), "-d", "ovmerd", "-o", str(cache), "--faces", "detect"]
    )
    assert clash.exit_code == 2 and "other settings" in clash.output
    manifest = tmp_path / "mine.csv"
    manifest.write_text(f"name,video\nx,{media['clip']}\n", encoding="utf-8")
    other = runner.invoke(app, ["prepare", str(tmp_path), "-d", f"csv:{manifest}", "-o", str(cache)])
    assert other.exit_code == 2 and "holds a prepared 'ovmerd'" in other.output


def test_bad_options_are_misuse(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="faces must be one of"):
        prepare_dataset([], tmp_path, config=PrepareConfig(faces="maybe"))
    result = runner.invoke(app, ["prepare", str(tmp_path), "-d", "nope", "-o", str(tmp_path / "c")])
    assert result.exit_code == 2


@pytest.mark.slow
def test_killed_run_leaves_no_half_written_file(tmp_path: Path) -> None:
    write_clip(tmp_path / "k.mp4", seconds=1, width=320, height=240)
    rows = ["name,video"] + [f"k{i},k.mp4" for i in range(16)]
    manifest = tmp_path / "m.csv"
    manifest.write_text("\n".join(rows) + "\n", encoding="utf-8")
    cache = tmp_path / "cache"
    command = [
        sys.executable,
        "-m",
        "ovmer",
        "prepare",
        str(tmp_path),
        "-d",
        f"csv:{manifest}",
        "-o",
        str(cache),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((cache / "meta").glob("*.json"))) < 3:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished = {p.stem for p in (cache / "meta").glob("*.json")}
    assert 3 <= len(finished) < 16, "the run should have been killed part-way"
    for path in cache.rglob("*.npy"):
        if not path.name.startswith("."):
            np.load(path)  # every visible file is complete
    for name in finished:
        load_prepared(cache, name)
    summary = prepare_dataset(load_samples(None, f"csv:{manifest}"), cache)
    assert summary.skipped == len(finished) and summary.done == 16 - len(finished) and summary.ok
    assert not list(cache.rglob(".*.tmp"))


def _worker_pids(parent: int) -> list[int]:
    """Pool workers of ``parent`` (spawned children running spawn_main, not the resource tracker)."""
    pids = []
    for task in Path(f"/proc/{parent}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in map(int, children):
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "spawn_main" in cmdline and "resource_tracker" not in cmdline:
                pids.append(child)
    return pids


def _prepare_command(tmp_path: Path, copies: int) -> tuple[list[str], Path]:
    """``ovmer prepare`` of ``copies`` manifest rows naming one short clip, and its cache folder."""
    write_clip(tmp_path / "k.mp4", seconds=1, width=320, height=240)
    manifest = tmp_path / "m.csv"
    rows = "".join(f"k{i},k.mp4\n" for i in range(copies))
    manifest.write_text("name,video\n" + rows, encoding="utf-8")
    cache = tmp_path / "cache"
    command = [
        sys.executable,
        "-m",
        "ovmer",
        "prepare",
        str(tmp_path),
        "-d",
        f"csv:{manifest}",
        "-o",
        str(cache),
    ]
    return command, cache


@pytest.mark.slow
def test_a_crashed_worker_does_not_end_the_run(tmp_path: Path) -> None:
    if not Path(f"/proc/{os.getpid()}/task").is_dir():
        pytest.skip("needs Linux /proc to find the worker processes")
    command, cache = _prepare_command(tmp_path, copies=10)
    process = subprocess.Popen([*command, "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    killed = False
    while time.monotonic() < deadline and process.poll() is None:
        workers = _worker_pids(process.pid)
        if workers and len(list((cache / "meta").glob("*.json"))) >= 1:
            os.kill(workers[0], signal.SIGKILL)  # what a segfault in native code looks like to the pool
            killed = True
            break
        time.sleep(0.05)
    output, _ = process.communicate(timeout=120)
    assert killed, "the run finished before a worker could be killed"
    assert process.returncode == 0, output.decode(errors="replace")[-2000:]
    assert len(list((cache / "meta").glob("*.json"))) == 10


@pytest.mark.parametrize("dataset_id", ["iemocap", "meld", "ovmerdplus"])
def test_prepare_official_layouts_without_faces(
    tmp_path: Path, media: dict[str, Path], dataset_id: str
) -> None:
    tree = build_tree(
        tmp_path / "root",
        dataset_id,
        clip=media["clip"],
        wav=media["wav"],
        avi_clip=media["avi"],
        faces=False,
    )
    summary = prepare_dataset(
        load_samples(tmp_path / "root", dataset_id), tmp_path / "cache", dataset=dataset_id
    )
    assert summary.ok and summary.done == len(tree.test_names)
    for name in tree.test_names:
        prepared = load_prepared(tmp_path / "cache", name)
        meta = InputsCache(tmp_path / "cache").read_meta(name)
        assert prepared.provenance.face_source == "mediapipe"  # no official arrays: detector + fallback
        assert str(prepared.provenance.audio_file).endswith(f"{name}.wav")
        assert (
            meta is not None
            and meta["label"] == tree.labels[name]
            and prepared.subtitle == tree.subtitles[name]
        )


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_the_run_resumes(tmp_path: Path) -> None:
    command, cache = _prepare_command(tmp_path, copies=20)
    # A new session so that SIGINT reaches the whole process group, as Ctrl-C in a terminal does.
    # SIGINT is reset to its default in the child: a runner started in the background (`cmd &` in a
    # non-interactive shell, as some CI systems do) hands down an *ignored* SIGINT, and Python then
    # installs no KeyboardInterrupt handler, which would make this test depend on how it was launched.
    process = subprocess.Popen(
        [*command, "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(list((cache / "meta").glob("*.json"))) < 1:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output.decode(errors="replace")[-2000:]
    assert b"run the same command to resume" in output
    finished = len(list((cache / "meta").glob("*.json")))
    assert 1 <= finished < 20
    resumed = subprocess.run(command, capture_output=True, timeout=300)
    assert resumed.returncode == 0
    assert f"{finished} already cached".encode() in resumed.stdout


def _alive(pid: int) -> bool:
    """``pid`` runs (a zombie waiting to be reaped counts as dead)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _cache_files(cache: Path) -> dict[str, tuple[int, int]]:
    return {
        os.fspath(p.relative_to(cache)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in cache.rglob("*")
        if p.is_file()
    }


def _content(cache: Path) -> dict[str, object]:
    """What a prepared cache holds, without the timings and the lock file."""
    out: dict[str, object] = {}
    for path in sorted(cache.rglob("*")):
        if not path.is_file() or path.name in (".lock", "manifest.jsonl", "errors.jsonl"):
            continue
        key = os.fspath(path.relative_to(cache))
        if path.suffix == ".json" and path.parent.name == "meta":
            meta = json.loads(path.read_text(encoding="utf-8"))
            meta.pop("timings")
            meta.get("inputs", {}).pop("timings", None)
            out[key] = meta
        else:
            out[key] = path.read_bytes()
    return out


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_workers_die_with_the_parent_and_a_second_prepare_is_refused(
    tmp_path: Path, signum: signal.Signals
) -> None:
    if not Path(f"/proc/{os.getpid()}/task").is_dir():
        pytest.skip("needs Linux /proc to find the worker processes")
    command, cache = _prepare_command(tmp_path, copies=12)
    process = subprocess.Popen([*command, "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            workers.update(_worker_pids(process.pid))
            if len(workers) >= 2 and len(list((cache / "meta").glob("*.json"))) >= 1:
                break
            time.sleep(0.02)
        assert len(workers) >= 2 and process.poll() is None, "the run ended before work was in flight"
        # The same folder is locked while the first run works: refused with a named reason, exit 2.
        second = runner.invoke(app, [*command[3:], "--workers", "1"])
        assert second.exit_code == 2 and "another ovmer prepare" in second.output, second.output
        os.kill(process.pid, signum)
        output, _ = process.communicate(timeout=60)
        if signum == signal.SIGTERM:  # stopped as Ctrl-C stops it: in-flight samples finish, exit 130
            assert process.returncode == 130, output.decode(errors="replace")[-2000:]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(map(_alive, workers)):
            time.sleep(0.05)
        assert not any(map(_alive, workers)), "a worker outlived the killed prepare"
        before = _cache_files(cache)
        time.sleep(0.5)
        assert _cache_files(cache) == before, "the cache changed after the run died"
        finished = len(list((cache / "meta").glob("*.json")))
        assert 1 <= finished < 12, "the run should have been stopped part-way"
    finally:
        for pid in [process.pid, *workers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.wait()
    samples = load_samples(None, command[6])
    resumed = prepare_dataset(samples, cache, dataset=f"csv:{Path(command[6][4:]).resolve()}")
    assert resumed.ok and resumed.skipped == finished and resumed.done == 12 - finished
    reference = tmp_path / "reference"
    prepare_dataset(samples, reference, dataset=f"csv:{Path(command[6][4:]).resolve()}")
    assert _content(cache) == _content(reference)
    assert not list(cache.rglob(".*.tmp"))
