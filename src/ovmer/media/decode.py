"""Video decoding with PyAV (bundled FFmpeg; no system ``ffmpeg`` needed).

Why this module exists: upstream decodes with decord, which reports a frame count from the container index and
then seeks to each sampled frame. We reproduce the *selection* rule exactly (docs/media.md, 'Frames'; upstream
``my_affectgpt/processors/video_processor.py``) and decode in one forward pass, keeping only the frames the
sampling needs, which is the cheapest correct way to get them from inter-coded video.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ovmer.errors import MediaError

#: Frames the models see per clip (docs/media.md, 'Frames').
DEFAULT_NUM_FRAMES = 8


@dataclass(frozen=True)
class VideoInfo:
    """What a container says about its first video stream (and whether it has audio)."""

    path: Path
    num_frames: int  # video packets carrying data: decord-style frame count (``vlen``)
    width: int
    height: int
    fps: float  # average frame rate (0.0 when unknown)
    duration_s: float  # container duration in seconds (0.0 when unknown)
    has_audio: bool
    # width/height are the coded size; frames are returned upright (display rotation applied, as
    # decord does), so a portrait phone video recorded sideways comes out portrait.


#: Frame-model input size (docs/media.md, 'Frames').
MODEL_FRAME_SIZE = 224


def clockwise_rotation(frame: Any) -> int:
    """Display rotation of a decoded frame, clockwise degrees in {0, 90, 180, 270}.

    PyAV reports the display matrix as a counter-clockwise angle; players (and decord, which
    transposes rotated streams before scaling) show the picture turned by its negative.
    """
    ccw = round(float(getattr(frame, "rotation", 0) or 0))
    return (-ccw) % 360 if ccw % 90 == 0 else 0


def _upright(image: np.ndarray, clockwise: int) -> np.ndarray:
    return image if clockwise == 0 else np.ascontiguousarray(np.rot90(image, k=-(clockwise // 90)))


def convert_frame(frame: Any, model_size: int = MODEL_FRAME_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """A decoded frame → (full-resolution RGB ``[H, W, 3]``, model RGB ``[size, size, 3]``), upright.

    The model copy is scaled by swscale straight from the decoder's pixel format with bilinear
    filtering — what decord's ``scale=224:224`` filter does (FFmpeg 4's default scale flags are
    bilinear) — rather than resizing the RGB copy, so it stays as close to upstream as possible.
    """
    clockwise = clockwise_rotation(frame)
    full = _upright(frame.to_ndarray(format="rgb24"), clockwise)
    small = frame.reformat(width=model_size, height=model_size, format="rgb24", interpolation="BILINEAR")
    return full, _upright(small.to_ndarray(), clockwise)


def sample_frame_indices(num_frames: int, n: int = DEFAULT_NUM_FRAMES) -> list[int]:
    """Upstream's uniform sampling rule (docs/media.md, 'Frames'; faces use it with ``vlen = N``).

    ``k = min(n, num_frames)`` indices ``floor(arange(0, num_frames, num_frames / k))``; when
    ``k < n`` the last index is repeated until there are ``n``. Example: 88 frames → 0, 11, …, 77.

    Raises:
        MediaError: ``num_frames`` is 0 (upstream divides by zero here).
    """
    if num_frames <= 0:
        raise MediaError("cannot sample frames from a clip with 0 frames")
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    k = min(n, num_frames)
    step = num_frames / k
    # np.arange with a float step, as upstream; floor of each value. The length is exactly k because
    # num_frames / k * k == num_frames for these small integers.
    indices = [math.floor(v) for v in np.arange(0, num_frames, step)][:k]
    while len(indices) < n:
        indices.append(indices[-1])
    return indices


def _open(path: Path):  # type: ignore[no-untyped-def]
    import av

    if not path.is_file():
        raise MediaError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: file is empty (0 bytes)")
    try:
        return av.open(os.fspath(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise MediaError(f"{path}: not a readable media file ({exc})") from exc


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Read the stream layout and count video frames by demuxing (no decoding).

    The count is the number of video packets that carry data, which is what decord's index gives for
    the MP4/AVI clips of the benchmarks. Demuxing is ~100× cheaper than decoding.

    Raises:
        MediaError: the file is missing, empty, not a media file, or has no video stream.
    """
    import av

    path = Path(path)
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"{path}: no video stream (audio-only or not a video)")
        stream = container.streams.video[0]
        has_audio = bool(container.streams.audio)
        count = 0
        try:
            for packet in container.demux(stream):
                if packet.size > 0:
                    count += 1
        except av.error.FFmpegError as exc:
            if count == 0:
                raise MediaError(f"{path}: cannot read video packets ({exc})") from exc
        fps = float(stream.average_rate) if stream.average_rate else 0.0
        duration = float(container.duration / 1_000_000) if container.duration else 0.0
        return VideoInfo(
            path=path,
            num_frames=count,
            width=int(stream.codec_context.width),
            height=int(stream.codec_context.height),
            fps=fps,
            duration_s=duration,
            has_audio=has_audio,
        )


def decode_frames_at(
    path: str | os.PathLike[str], indices: Sequence[int], *, threads: int = 0
) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """Decode the frames at ``indices`` (0-based, decode order) in one forward pass.

    Returns ``(frames, decoded)``: per *distinct* requested index, in ascending order, the pair from
    :func:`convert_frame` (full-resolution RGB, 224×224 RGB, both upright), and how many frames were
    decoded before stopping. Decoding stops after
    the last requested index. ``threads=0`` lets FFmpeg choose; use 1 inside worker processes so that
    several workers do not oversubscribe the cores.

    Raises:
        MediaError: the file cannot be decoded, or ends before the last requested index (the
        caller then retries with the decoded count, see :func:`read_sampled_frames`).
    """
    import av

    path = Path(path)
    wanted = sorted(set(int(i) for i in indices))
    if not wanted:
        return [], 0
    last = wanted[-1]
    out: list[tuple[np.ndarray, np.ndarray]] = []
    position = 0
    with _open(path) as container:
        stream = _video_stream(container, path, threads)
        target = iter(wanted)
        next_index = next(target)
        try:
            for frame in container.decode(stream):
                if position == next_index:
                    out.append(convert_frame(frame))
                    next_index = next(target, -1)
                    if next_index < 0:
                        position += 1
                        break
                position += 1
        except av.error.FFmpegError as exc:
            if position == 0:
                raise MediaError(f"{path}: cannot decode video ({exc})") from exc
    if position <= last:
        raise MediaError(f"{path}: video ends after {position} decoded frames; frame {last} was requested")
    return out, position


def count_decodable_frames(path: str | os.PathLike[str], *, threads: int = 0) -> int:
    """Decode the whole stream and count frames (slow path for broken indexes)."""
    import av

    path = Path(path)
    count = 0
    with _open(path) as container:
        stream = _video_stream(container, path, threads)
        try:
            for _ in container.decode(stream):
                count += 1
        except av.error.FFmpegError:
            pass
    return count


def read_sampled_frames(
    path: str | os.PathLike[str], n: int = DEFAULT_NUM_FRAMES, *, threads: int = 0
) -> tuple[np.ndarray, list[int], VideoInfo]:
    """Sample ``n`` frames with the upstream rule and return them at full resolution.

    Returns ``(frames, indices, info)``: ``frames`` is uint8 RGB ``[n, H, W, 3]``, upright (repeated
    indices give repeated frames, as upstream), ``indices`` the sampled frame numbers and ``info`` the
    probe. When the container index promises more frames than can be decoded (truncated files), the
    rule is re-applied to the number of frames that actually decode, and that number is in ``info``.

    Raises:
        MediaError: missing/empty/corrupt file, no video stream, or zero decodable frames.
    """
    full, _, indices, info = _sample_pairs(path, n, threads)
    return full, indices, info


def _sample_pairs(
    path: str | os.PathLike[str], n: int, threads: int
) -> tuple[np.ndarray, np.ndarray, list[int], VideoInfo]:
    path = Path(path)
    info = probe_video(path)
    if info.num_frames == 0:
        raise MediaError(f"{path}: the video stream has 0 frames")
    indices = sample_frame_indices(info.num_frames, n)
    try:
        pairs, _ = decode_frames_at(path, indices, threads=threads)
    except MediaError:
        decodable = count_decodable_frames(path, threads=threads)
        if decodable == 0:
            raise MediaError(f"{path}: no frame of the video stream can be decoded") from None
        info = VideoInfo(**{**info.__dict__, "num_frames": decodable})
        indices = sample_frame_indices(decodable, n)
        pairs, _ = decode_frames_at(path, indices, threads=threads)
    by_index = dict(zip(sorted(set(indices)), pairs, strict=True))
    full = np.stack([by_index[i][0] for i in indices])
    small = np.stack([by_index[i][1] for i in indices])
    return full, small, indices, info


def resize_frames(frames: np.ndarray, size: int = 224) -> np.ndarray:
    """Resize ``[T, H, W, 3]`` uint8 RGB frames straight to ``size × size`` (aspect not kept, as decord).

    OpenCV bilinear on RGB, for frames from elsewhere; :func:`read_clip` gives ``model_frames``
    scaled by swscale from the decoder's YUV output, closer to decord.
    """
    import cv2

    return np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_LINEAR) for f in frames])


def _planar_float(frame: Any) -> np.ndarray:
    """``[channels, samples]`` float32 of an ``fltp`` audio frame (``to_ndarray`` without its per-plane
    ``vstack`` overhead: one frame holds ~1024 samples, a clip has ~150 frames)."""
    samples = frame.samples
    planes = frame.planes
    if len(planes) == 1:
        return np.frombuffer(planes[0], dtype=np.float32, count=samples)[None, :]
    out = np.empty((len(planes), samples), dtype=np.float32)
    for channel, plane in enumerate(planes):
        out[channel] = np.frombuffer(plane, dtype=np.float32, count=samples)
    return out


@dataclass
class DecodedClip:
    """Result of :func:`read_clip`: sampled frames and (optionally) the whole audio track."""

    frames: np.ndarray  # uint8 RGB [n, H, W, 3], full resolution, upright (for face detection)
    model_frames: np.ndarray  # uint8 RGB [n, 224, 224, 3]: the frame model's input
    indices: list[int]  # sampled frame numbers (docs/media.md, 'Frames')
    info: VideoInfo
    audio: np.ndarray | None  # float32 [channels, samples] at ``audio_rate``; None without an audio track
    audio_rate: int


def read_clip(
    path: str | os.PathLike[str], n: int = DEFAULT_NUM_FRAMES, *, with_audio: bool = True, threads: int = 0
) -> DecodedClip:
    """Open a clip once: count frames, sample, decode the needed frames and the audio track.

    Why one pass: opening and demuxing a file three times (probe, frames, audio) cost more than the
    face detector on short clips. The container is demuxed once; video packets are kept (compressed,
    small) so the frame count is known before decoding, then decoded up to the last sampled frame;
    audio packets are decoded as they arrive. Truncated files fall back to
    :func:`read_sampled_frames`, which re-applies the rule to the frames that really decode.

    Raises:
        MediaError: missing/empty/corrupt file, no video stream, or zero frames.
    """
    path = Path(path)
    with _open(path) as container:
        vstream = _video_stream(container, path, threads)
        astream = container.streams.audio[0] if (with_audio and container.streams.audio) else None
        video_packets, chunks = _demux_clip(container, path, vstream, astream)
        info = _clip_info(container, path, vstream, num_frames=len(video_packets))
        if info.num_frames == 0:
            raise MediaError(f"{path}: the video stream has 0 frames")
        indices = sample_frame_indices(info.num_frames, n)
        wanted = sorted(set(indices))
        decoded = _decode_packets_at(vstream, video_packets, wanted)
    audio_rate = int(astream.codec_context.sample_rate or 0) if astream is not None else 0
    audio = np.concatenate(chunks, axis=1).astype(np.float32, copy=False) if chunks else None
    if len(decoded) < len(wanted):  # index promised more frames than decode: slow, exact path
        full, small, indices, info = _sample_pairs(path, n, threads)
        info = VideoInfo(**{**info.__dict__, "has_audio": astream is not None or info.has_audio})
        return DecodedClip(full, small, indices, info, audio, audio_rate)
    full = np.stack([decoded[i][0] for i in indices])
    small = np.stack([decoded[i][1] for i in indices])
    return DecodedClip(full, small, indices, info, audio, audio_rate)


def _demux_clip(
    container: Any, path: Path, vstream: Any, astream: Any | None
) -> tuple[list[Any], list[np.ndarray]]:
    """Demux once: keep the video packets that carry data (compressed, small) and decode the audio
    packets as they come into float32 ``[channels, samples]`` chunks (none when ``astream`` is None).

    Raises:
        MediaError: the container breaks before any video packet was read.
    """
    import av

    video_packets: list[Any] = []
    chunks: list[np.ndarray] = []
    converter = av.AudioResampler(format="fltp") if astream is not None else None
    streams = [vstream] if astream is None else [vstream, astream]
    converted_any = False
    try:
        for packet in container.demux(*streams):
            if packet.stream.type == "video":
                if packet.size > 0:
                    video_packets.append(packet)
            elif converter is not None:
                converted_any |= _decode_audio_packet(packet, converter, chunks)
        if converter is not None and converted_any:
            chunks.extend(c.to_ndarray() for c in converter.resample(None))
    except av.error.FFmpegError as exc:
        if not video_packets:
            raise MediaError(f"{path}: cannot read video packets ({exc})") from exc
    return video_packets, chunks


def _decode_audio_packet(packet: Any, converter: Any, chunks: list[np.ndarray]) -> bool:
    """Append one audio packet's samples to ``chunks``; True when ``converter`` was used (it may then
    hold samples back until it is flushed)."""
    import av

    try:
        audio_frames = packet.decode()
    except av.error.FFmpegError:
        return False  # a damaged audio packet must not cut the video short
    converted = False
    for frame in audio_frames:
        if frame.format.name == "fltp":  # AAC's native output: no conversion needed
            chunks.append(_planar_float(frame))
        else:
            converted = True
            chunks.extend(c.to_ndarray() for c in converter.resample(frame))
    return converted


def _clip_info(container: Any, path: Path, vstream: Any, *, num_frames: int) -> VideoInfo:
    """The :class:`VideoInfo` of an open container whose video packets were counted while demuxing."""
    return VideoInfo(
        path=path,
        num_frames=num_frames,
        width=int(vstream.codec_context.width),
        height=int(vstream.codec_context.height),
        fps=float(vstream.average_rate) if vstream.average_rate else 0.0,
        duration_s=float(container.duration / 1_000_000) if container.duration else 0.0,
        has_audio=bool(container.streams.audio),
    )


def _decode_packets_at(
    vstream: Any, video_packets: list[Any], wanted: list[int]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Decode the kept packets up to the last ``wanted`` frame (ascending, 0-based decode order).

    Returns the :func:`convert_frame` pair per wanted frame that decoded; a decoding error ends the
    pass early, and the caller sees the missing frames.
    """
    import av

    decoded: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    position = 0
    try:
        for packet in [*video_packets, None]:  # None flushes the decoder's delayed frames
            for frame in vstream.decode(packet):
                if position in wanted:
                    decoded[position] = convert_frame(frame)
                position += 1
            if position > wanted[-1]:
                break
    except av.error.FFmpegError:
        pass
    return decoded


@dataclass
class TimedFrames:
    """Frames taken at a fixed rate over the whole clip (:func:`read_frames_at_rate`)."""

    frames: list[np.ndarray]  # each uint8 RGB [H, W, 3], full resolution, upright
    times: list[float]  # presentation time of each frame in seconds
    duration_s: float  # length of the video stream (of the container for audio-only files)
    has_audio: bool


def read_frames_at_rate(
    path: str | os.PathLike[str], fps: float = 5.0, max_frames: int = 600, *, threads: int = 0
) -> TimedFrames:
    """Decode the first video stream keeping about ``fps`` frames per second (at most ``max_frames``).

    Why besides :func:`read_clip`: AffectGPT samples 8 frames *by index* (decord's rule); cues
    that unfold over time (the clue engine's smiles, frowns, head movement) need frames *by time* with
    their timestamps. Same container opening, errors and display rotation as the rest of this module.
    An audio-only file gives no frames (``duration_s`` from the container).

    Raises:
        MediaError: missing/empty/unreadable file, or a video stream none of whose frames decode.
    """
    import av

    path = Path(path)
    frames: list[np.ndarray] = []
    times: list[float] = []
    with _open(path) as container:
        has_audio = bool(container.streams.audio)
        if not container.streams.video:
            return TimedFrames([], [], float(container.duration or 0) / 1e6, has_audio)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = threads
        next_time = last = 0.0
        try:
            for frame in container.decode(stream):
                if frame.pts is None or frame.time_base is None:
                    continue
                time = float(frame.pts * frame.time_base)
                last = max(last, time)
                if time + 1e-6 < next_time:
                    continue
                frames.append(_upright(frame.to_ndarray(format="rgb24"), clockwise_rotation(frame)))
                times.append(time)
                next_time = time + 1.0 / fps
                if len(frames) >= max_frames:
                    break
        except av.error.FFmpegError as exc:
            if not frames:
                raise MediaError(f"{path}: cannot decode video ({exc})") from exc
        rate = float(stream.average_rate or 25)
        duration = (
            float(stream.duration * stream.time_base)
            if stream.duration and stream.time_base
            else last + 1 / rate
        )
    return TimedFrames(frames, times, duration, has_audio)


def _video_stream(container: Any, path: Path, threads: int) -> Any:
    """The first video stream, set up for decoding with ``threads`` FFmpeg threads (0 = automatic)."""
    if not container.streams.video:
        raise MediaError(f"{path}: no video stream (audio-only or not a video)")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    stream.codec_context.thread_count = threads
    return stream
