"""How fast ``ovmer prepare`` turns clips into model inputs, against the PyAV decode floor.

Measured in one run, on the same clips:

* ``floor``   — PyAV decoding just the frames the 8-frame sampling needs (one forward pass up to the
  last sampled frame, the 8 sampled frames converted to RGB): no probing, faces, audio or writes.
* ``prepare`` — ``prepare_dataset`` per clip, everything included: frame-count probe, decoding,
  224×224 frames, MediaPipe face detection + aligned crops, audio decode + 16 kHz resampling + 8 clips,
  atomic ``.npy``/JSON writes (face-detector start-up amortised over the clips).

Clips: the real demo clip (``../shared/reference/media/sample_00000000.mp4``, 720×404, 88 frames) and a
synthesized 10 s 1280×720 25 fps H.264 clip with AAC audio whose pictures are the demo clip's frames
upscaled (so there is a real face and realistic texture). Single-core figures pin the process to one
CPU (``sched_setaffinity`` on every thread) and use one FFmpeg thread for both floor and prepare. The worker figures
prepare the same set with ``--workers 1`` and ``--workers N`` (pool start-up included and excluded).

Run: ``.venv/bin/python benchmarks/prepare.py [--reference ../shared/reference] [--copies 24] [--workers 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import av
import cv2
import numpy as np

from ovmer.data.prepare import PrepareConfig, _run_pool, prepare_dataset
from ovmer.data.registry import manifest_samples
from ovmer.media.decode import decode_frames_at, probe_video, sample_frame_indices

ROOT = Path(__file__).resolve().parents[1]


def synth_720p(source: Path, target: Path, seconds: int = 10, fps: int = 25) -> Path:
    """10 s 1280×720 clip from the demo clip's frames (looped, upscaled) plus a 44.1 kHz stereo tone."""
    with av.open(str(source)) as container:
        frames = [
            cv2.resize(f.to_ndarray(format="rgb24"), (1280, 720), interpolation=cv2.INTER_LINEAR)
            for f in container.decode(video=0)
        ]
    with av.open(str(target), "w") as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "23"})
        video.width, video.height, video.pix_fmt = 1280, 720, "yuv420p"
        audio = out.add_stream("aac", rate=44_100)
        audio.layout = "stereo"
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgb24")
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        total = seconds * 44_100
        tone = (0.2 * np.sin(2 * np.pi * 220 * np.arange(total) / 44_100)).astype(np.float32)
        for start in range(0, total, 1024):
            chunk = np.ascontiguousarray(np.tile(tone[start : start + 1024], (2, 1)))
            aframe = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            aframe.sample_rate, aframe.pts = 44_100, start
            for packet in audio.encode(aframe):
                out.mux(packet)
        for packet in audio.encode():
            out.mux(packet)
    return target


def floor_times(clip: Path, repeat: int) -> tuple[list[float], list[float]]:
    """(wall, CPU) seconds to decode just the sampled frames (one thread), ``repeat`` runs."""
    indices = sample_frame_indices(probe_video(clip).num_frames)
    wall, cpu = [], []
    for _ in range(repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        decode_frames_at(clip, indices, threads=1)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    return wall, cpu


def prepare_seconds(
    clip: Path, copies: int, work: Path, workers: int, tag: str, *, pool: bool = False
) -> tuple[float, float, float]:
    """(wall s per clip for the whole run, steady-state wall s per clip, median CPU s per clip).

    Steady state: the time from the ``workers``-th finished clip to the last one, divided by the clips
    finished in it, so pool start-up and the detector's first load are left out. (A median gap between
    results would be wrong with several workers: their results arrive in bursts.)
    ``pool=True`` with one worker runs it in a (single-threaded) worker process, as ``--workers N``
    does, instead of in this process (where FFmpeg may use several threads).
    The CPU seconds are measured inside whichever process prepared the clip (``timings.cpu_s`` in
    its meta file): they do not grow when other jobs compete for the CPUs, and equal CPU per clip
    with 1 and N workers means the workers add no overhead, i.e. linear speed-up on idle cores.
    """
    folder = work / f"{tag}-{workers}"
    folder.mkdir()
    manifest = folder / "m.csv"
    manifest.write_text("name,video\n" + "".join(f"c{i},{clip}\n" for i in range(copies)), encoding="utf-8")
    samples = manifest_samples(manifest)
    stamps: list[float] = []
    start = time.perf_counter()
    if pool:
        failed: list[object] = []

        def record(name: str, meta: object, error: object) -> None:
            stamps.append(time.perf_counter())
            if error is not None:
                failed.append(error)

        _run_pool(samples, folder / "cache", PrepareConfig(), workers, record)
        if failed:
            raise SystemExit(f"prepare failed: {failed[:2]}")
    else:
        summary = prepare_dataset(
            samples,
            folder / "cache",
            config=PrepareConfig(),
            workers=workers,
            on_result=lambda name, ok: stamps.append(time.perf_counter()),
        )
        if summary.failed:
            raise SystemExit(f"prepare failed: {summary.errors[:2]}")
    total = time.perf_counter() - start
    steady = (stamps[-1] - stamps[workers - 1]) / (len(stamps) - workers)
    cpu = statistics.median(
        json.loads(p.read_text(encoding="utf-8"))["timings"]["cpu_s"]
        for p in (folder / "cache" / "meta").glob("*.json")
    )
    shutil.rmtree(folder)
    return total / copies, steady, cpu


def interleaved(clip: Path, copies: int, work: Path, tag: str) -> tuple[float, float, float, float]:
    """(floor wall, prepare wall, floor CPU, prepare CPU) seconds per clip, medians, measured alternately.

    ``prepare_dataset`` runs in this (pinned) process, so FFmpeg uses one thread; after each finished clip its
    callback times one floor decode of the same clip. A prepare interval is the time from the end of
    that floor decode to the next clip's result (everything ``prepare`` does per clip, writes and
    bookkeeping included); the first clip, which loads the face detector, is left out.
    """
    folder = work / f"{tag}-interleaved"
    folder.mkdir()
    manifest = folder / "m.csv"
    manifest.write_text(
        "name,video\n" + "".join(f"c{i},{clip}\n" for i in range(copies + 1)), encoding="utf-8"
    )
    indices = sample_frame_indices(probe_video(clip).num_frames)
    prep_wall: list[float] = []
    prep_cpu: list[float] = []
    floor_wall: list[float] = []
    floor_cpu: list[float] = []
    last = [time.perf_counter(), time.process_time()]

    def after_clip(name: str, ok: bool) -> None:
        if not ok:
            raise SystemExit(f"prepare failed on {name}")
        wall, cpu = time.perf_counter(), time.process_time()
        if name != "c0":
            prep_wall.append(wall - last[0])
            prep_cpu.append(cpu - last[1])
        decode_frames_at(clip, indices, threads=1)
        floor_wall.append(time.perf_counter() - wall)
        floor_cpu.append(time.process_time() - cpu)
        last[:] = [time.perf_counter(), time.process_time()]

    prepare_dataset(
        manifest_samples(manifest), folder / "cache", config=PrepareConfig(), workers=1, on_result=after_clip
    )
    shutil.rmtree(folder)
    median = statistics.median
    return median(floor_wall), median(prep_wall), median(floor_cpu), median(prep_cpu)


def _floor_loop(clip: str, seconds: float) -> float:
    """Floor decodes per second in this (fresh, single-threaded) process, for ``seconds``."""
    indices = sample_frame_indices(probe_video(clip).num_frames)
    decode_frames_at(clip, indices, threads=1)  # warm-up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        decode_frames_at(clip, indices, threads=1)
        count += 1
    return count / (time.perf_counter() - start)


def machine_scaling(clip: Path, procs: int, seconds: float = 3.0) -> float:
    """Speed-up of ``procs`` processes running the floor decode at once over one process.

    The ceiling this machine allows for ``--workers`` on a CPU-bound job with no Python overhead: on
    a VM, two vCPUs can be two hyperthreads of one host core (or share caches and memory bandwidth),
    and then no program gets 2× from them.
    """
    rates = []
    for n in (1, procs):
        with ProcessPoolExecutor(max_workers=n, mp_context=get_context("spawn")) as pool:
            list(pool.map(_floor_loop, [str(clip)] * n, [0.2] * n))  # start the processes first
            rates.append(sum(pool.map(_floor_loop, [str(clip)] * n, [seconds] * n)))
    return rates[1] / rates[0]


def pin(cpus: set[int]) -> None:
    """Pin *every* thread of this process to ``cpus``.

    ``os.sched_setaffinity(0, …)`` changes only the calling thread; helper threads started before
    (OpenBLAS starts one per core when numpy is imported) would keep running on the other cores and
    their CPU time would be counted while the figure claims one core.
    """
    for tid in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(tid), cpus)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference")
    parser.add_argument("--copies", type=int, default=24, help="clips per prepare run")
    parser.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 4))
    parser.add_argument("--repeat", type=int, default=5, help="floor repetitions (median)")
    args = parser.parse_args()
    real = args.reference / "media" / "sample_00000000.mp4"
    if not real.is_file():
        raise SystemExit(f"demo clip not found: {real} (pass --reference)")
    print("command:", " ".join([".venv/bin/python", *sys.argv]))
    print(f"machine: {os.cpu_count()} CPUs; PyAV {av.__version__}, OpenCV {cv2.__version__}")
    print(
        "load average before: {:.2f} {:.2f} {:.2f} (other processes share these CPUs)".format(
            *os.getloadavg()
        )
    )
    with tempfile.TemporaryDirectory(prefix="ovmer-bench-") as tmp:
        work = Path(tmp)
        clips = {"demo 720x404 3.5 s": real, "synth 1280x720 10 s": synth_720p(real, work / "synth720p.mp4")}
        all_cpus = os.sched_getaffinity(0)
        print("\none core (process pinned to one CPU, one FFmpeg thread)")
        print(
            "(interleaved: one floor decode after each prepared clip, so drift in machine speed hits both;"
            " medians; CPU = process CPU time)"
        )
        print(
            f"{'clip':<22}{'floor wall':>11}{'prep wall':>10}{'ratio':>7}"
            f"{'floor CPU':>11}{'prep CPU':>10}{'ratio':>7}{'clips/s CPU':>13}"
        )
        pin({min(all_cpus)})
        for label, clip in clips.items():
            copies = args.copies if "demo" in label else max(args.copies // 3, 5)
            floor_times(clip, 2)  # warm the file cache and the decoder
            floor, per_clip, floor_cpu, cpu_clip = interleaved(clip, copies, work, label.split()[0] + "1core")
            print(
                f"{label:<22}{floor:>11.3f}{per_clip:>10.3f}{per_clip / floor:>7.2f}"
                f"{floor_cpu:>11.3f}{cpu_clip:>10.3f}{cpu_clip / floor_cpu:>7.2f}{1 / cpu_clip:>13.1f}"
            )
        pin(all_cpus)
        copies = args.copies * 2
        print(f"\nworkers (demo clip × {copies}; all CPUs; run time incl. pool start / steady state)")
        in_total, in_steady, in_cpu = prepare_seconds(real, copies, work, 1, "inproc")
        print(
            f"  workers=1 (in this process, FFmpeg threads auto): {1 / in_total:6.1f} clips/s run, "
            f"{1 / in_steady:6.1f} clips/s steady, {in_cpu * 1000:5.0f} ms CPU/clip"
        )
        base_total, base_steady, base_cpu = prepare_seconds(real, copies, work, 1, "scale", pool=True)
        print(
            f"  1 worker process (single-threaded):       {1 / base_total:6.1f} clips/s run, "
            f"{1 / base_steady:6.1f} clips/s steady, {base_cpu * 1000:5.0f} ms CPU/clip"
        )
        for workers in sorted({2, args.workers} - {1}):
            total, steady, cpu = prepare_seconds(real, copies, work, workers, "scale")
            ceiling = machine_scaling(real, workers)
            print(
                f"  workers={workers}: {1 / total:6.1f} clips/s run, {1 / steady:6.1f} clips/s steady, "
                f"{cpu * 1000:5.0f} ms CPU/clip\n"
                f"    speed-up over 1 worker process: {base_total / total:.2f}x run, "
                f"{base_steady / steady:.2f}x steady; over in-process workers=1: "
                f"{in_steady / steady:.2f}x steady\n"
                f"    machine ceiling ({workers} floor-decode processes at once vs 1): {ceiling:.2f}x"
            )
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
