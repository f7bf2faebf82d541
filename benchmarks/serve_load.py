"""Load and soak test of ``ovmer serve`` on loopback: latency, throughput and errors under 1×, 2× and
4× the load the queue allows, and memory, open files and temp files over a long run.

Run (from the project root; starts its own server on 127.0.0.1 with the clue engine unless ``--url``):

    .venv/bin/python benchmarks/serve_load.py                      # demo clip, 30 s per level
    .venv/bin/python benchmarks/serve_load.py --max-queue 4 --duration 60 --json load.json
    .venv/bin/python benchmarks/serve_load.py --soak 600           # 10-minute soak at 1× load

The load the queue allows is its capacity C = ``--max-queue`` + the model's batch size (requests
waiting plus requests being answered). Each level runs ``level × C`` closed-loop clients (each sends
its next request when the last one is answered) for ``--duration`` seconds and prints p50/p95/p99
latency of accepted requests, accepted requests per second, the 429s (and how fast they came back),
other 4xx, 5xx and transport errors. Beyond 1× the surplus must be refused quickly with 429, never
5xx nor a crash. The target at 1×: p99 within 2× the single-request time, which a closed loop of C
clients can only meet with C ≤ 2 (every accepted request waits behind at most C − 1 others).

The soak runs C clients for ``--soak`` seconds and samples the server's RSS and open files every
``--sample-every`` seconds. The median RSS of the last fifth may be at most 5 % above the median of
the fifth after the warm-up (the first fifth; medians, because RSS moves with the requests in
flight); open files, which move with the requests in flight, may be no more when the
server is idle at the end than the most seen during the warm-up; and no per-request folder may be
left in the server's temp folder.

Exit status: 0 when there was no 5xx, no transport error, no crash (and, soaking, no growth or
leftover beyond the bounds), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ovmer.atomic import write_json_atomic

DEMO_CLIP = Path(__file__).resolve().parents[1] / "src" / "ovmer" / "clues" / "demo" / "demo_clip.mp4"
#: Soak bounds (docs/serve.md): RSS growth after warm-up, share of the soak that is warm-up.
MAX_RSS_GROWTH = 0.05
WARMUP_SHARE = 0.2


@dataclass
class LevelResult:
    """One load level: counts by outcome and latency percentiles (seconds) of accepted requests."""

    level: int
    clients: int
    duration_s: float
    accepted: int = 0
    refused_429: int = 0
    other_4xx: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    latencies: list[float] = field(default_factory=list, repr=False)
    refusal_latencies: list[float] = field(default_factory=list, repr=False)

    def percentile(self, values: list[float], q: float) -> float | None:
        if not values:
            return None
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    def summary(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k not in ("latencies", "refusal_latencies")}
        for q in (50, 95, 99):
            data[f"p{q}_s"] = self.percentile(self.latencies, q)
        data["p50_429_s"] = self.percentile(self.refusal_latencies, 50)
        data["accepted_per_s"] = self.accepted / self.duration_s
        return data


class Server:
    """``python -m ovmer serve`` on a free loopback port, with its own TMPDIR to check for leftovers."""

    def __init__(self, max_queue: int, timeout_s: float) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = Path(tempfile.mkdtemp(prefix="serve-load-"))
        command = [sys.executable, "-m", "ovmer", "serve", "--port", str(self.port),
                   "--max-queue", str(max_queue), "--timeout", str(timeout_s)]  # fmt: skip
        self.log = (self.tmp / "server.log").open("w")
        self.process = subprocess.Popen(
            command, env={**os.environ, "TMPDIR": str(self.tmp)}, stdout=self.log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited ({self.process.returncode}); log: {self.log.name}")
            try:
                httpx.get(f"{self.url}/healthz", timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise SystemExit(f"the server did not answer /healthz within {timeout_s} s")

    def leftovers(self) -> list[str]:
        return sorted(p.name for p in self.tmp.glob("ovmer-serve-*"))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


async def describe(client: httpx.AsyncClient, clip: bytes) -> tuple[int | None, float]:
    """One request: (status or None for a transport error, seconds)."""
    start = time.perf_counter()
    try:
        response = await client.post("/v1/describe", files={"video": ("clip.mp4", clip, "video/mp4")})
        return response.status_code, time.perf_counter() - start
    except httpx.HTTPError:
        return None, time.perf_counter() - start


def record(result: LevelResult, status: int | None, seconds: float) -> None:
    if status == 200:
        result.accepted += 1
        result.latencies.append(seconds)
    elif status == 429:
        result.refused_429 += 1
        result.refusal_latencies.append(seconds)
    elif status is None:
        result.transport_errors += 1
    elif status >= 500:
        result.server_errors += 1
    else:
        result.other_4xx += 1


async def run_level(url: str, clip: bytes, level: int, clients: int, duration_s: float) -> LevelResult:
    """``clients`` closed-loop clients for ``duration_s``; a 429 waits a tenth of a second before retrying
    (a polite client would wait Retry-After; this one keeps the pressure on)."""
    result = LevelResult(level, clients, duration_s)
    deadline = time.perf_counter() + duration_s
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:

        async def loop() -> None:
            while time.perf_counter() < deadline:
                status, seconds = await describe(client, clip)
                record(result, status, seconds)
                if status == 429:
                    await asyncio.sleep(0.1)

        await asyncio.gather(*(loop() for _ in range(clients)))
    return result


async def single_request_s(url: str, clip: bytes, repeats: int) -> float:
    """Median seconds of ``repeats`` requests one after another (after one warm-up request)."""
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        times = []
        for _ in range(repeats + 1):
            status, seconds = await describe(client, clip)
            if status != 200:
                raise SystemExit(f"a single request failed with {status}: is the clip readable?")
            times.append(seconds)
    return statistics.median(times[1:])


def print_level(row: dict[str, Any]) -> None:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f}"

    print(
        f"  {row['level']}x  clients {row['clients']:>3}  accepted {row['accepted']:>4}  "
        f"{row['accepted_per_s']:.2f} req/s  p50 {ms(row['p50_s'])} ms  p95 {ms(row['p95_s'])} ms  "
        f"p99 {ms(row['p99_s'])} ms  429 {row['refused_429']} (p50 {ms(row['p50_429_s'])} ms)  "
        f"4xx {row['other_4xx']}  5xx {row['server_errors']}  errors {row['transport_errors']}",
        flush=True,
    )


def load_test(
    args: argparse.Namespace, url: str, clip: bytes, capacity: int, single: float
) -> tuple[list[dict[str, Any]], bool]:
    rows = []
    for level in args.levels:
        row = asyncio.run(run_level(url, clip, level, level * capacity, args.duration)).summary()
        print_level(row)
        rows.append(row)
    ok = all(r["server_errors"] == 0 and r["transport_errors"] == 0 for r in rows)
    base = next((r for r in rows if r["level"] == 1), None)
    if base and base["p99_s"] is not None:
        ratio = base["p99_s"] / single
        verdict = "met" if ratio <= 2 else "missed"
        print(f"target at 1x: p99 {ratio:.2f}x the single-request time (goal <= 2x): {verdict}", flush=True)
    return rows, ok


async def soak_run(
    url: str, clip: bytes, clients: int, seconds: float, pid: int, every: float
) -> dict[str, Any]:
    """Load for ``seconds`` while sampling the server's RSS (bytes) and open files."""
    import psutil

    process = psutil.Process(pid)
    samples: list[tuple[float, int, int]] = []
    start = time.perf_counter()
    load = asyncio.ensure_future(run_level(url, clip, 1, clients, seconds))
    while not load.done():
        samples.append((time.perf_counter() - start, process.memory_info().rss, process.num_fds()))
        await asyncio.sleep(every)
    result = (await load).summary()
    # RSS moves with the requests in flight (a clip's frames, Whisper's buffers): compare the median
    # of the window right after the warm-up with the median of the last window of the same length
    after = [s[1] for s in samples if WARMUP_SHARE * seconds <= s[0] < 2 * WARMUP_SHARE * seconds]
    last = [s[1] for s in samples if s[0] >= (1 - WARMUP_SHARE) * seconds]
    rss_after = statistics.median(after or [samples[0][1]])
    rss_end = statistics.median(last or [samples[-1][1]])
    await asyncio.sleep(1.0)  # idle: the last requests' sockets and folders are gone
    return {
        **result,
        "rss_after_warmup_mb": rss_after / 2**20,
        "rss_end_mb": rss_end / 2**20,
        "rss_growth": rss_end / rss_after - 1,
        # open files move with the requests in flight; a leak shows as more files when idle at the
        # end than were ever open during the warm-up
        "fds_max_warmup": max(
            (s[2] for s in samples if s[0] < WARMUP_SHARE * seconds), default=samples[0][2]
        ),
        "fds_idle_end": process.num_fds(),
        "rss_series_mb": [[round(t, 1), round(rss / 2**20, 1)] for t, rss, _ in samples],
        "samples": len(samples),
    }


def soak(args: argparse.Namespace, server: Server, clip: bytes, capacity: int) -> tuple[dict[str, Any], bool]:
    data = asyncio.run(soak_run(server.url, clip, capacity, args.soak, server.process.pid, args.sample_every))
    data["leftover_folders"] = server.leftovers()
    print_level(data)
    print(
        f"soak {args.soak:g} s: median RSS {data['rss_after_warmup_mb']:.1f} MiB after warm-up -> {data['rss_end_mb']:.1f} MiB at the end "
        f"({data['rss_growth'] * 100:+.1f} %, bound {args.max_rss_growth * 100:g} %); open files "
        f"at most {data['fds_max_warmup']} in warm-up, {data['fds_idle_end']} idle at the end; leftover temp folders: {len(data['leftover_folders'])}",
        flush=True,
    )
    ok = (
        data["server_errors"] == 0
        and data["transport_errors"] == 0
        and data["rss_growth"] < args.max_rss_growth
        and data["fds_idle_end"] <= data["fds_max_warmup"]
        and not data["leftover_folders"]
    )
    return data, ok


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="An already running server (default: start one on 127.0.0.1).")
    parser.add_argument(
        "--clip", type=Path, default=DEMO_CLIP, help="The clip every request sends (default: the demo clip)."
    )
    parser.add_argument("--max-queue", type=int, default=1, help="--max-queue of the started server.")
    parser.add_argument("--timeout", type=float, default=120.0, help="--timeout of the started server (s).")
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds per load level.")
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=3, help="Single requests timed for the baseline.")
    parser.add_argument(
        "--soak", type=float, default=0.0, help="Soak for this many seconds instead of the load levels."
    )
    parser.add_argument(
        "--max-rss-growth",
        type=float,
        default=MAX_RSS_GROWTH,
        help="Soak: allowed RSS growth after warm-up (fraction).",
    )
    parser.add_argument("--sample-every", type=float, default=5.0, help="Soak: seconds between RSS samples.")
    parser.add_argument("--json", type=Path, help="Write every figure here.")
    args = parser.parse_args()
    if args.soak and args.url:
        parser.error("--soak starts its own server (it samples the server process); leave out --url")
    return args


def main() -> int:
    args = parse_args()
    clip = args.clip.read_bytes()
    server = None if args.url else Server(args.max_queue, args.timeout)
    url = args.url or (server.url if server else "")
    ok = True
    report: dict[str, Any] = {"clip": args.clip.name, "clip_bytes": len(clip)}
    try:
        if server:
            server.wait_ready()
        models = httpx.get(f"{url}/v1/models", timeout=10).json()
        capacity = models["queue"]["max_queue"] + models["models"][0]["batch_size"]
        single = asyncio.run(single_request_s(url, clip, args.repeats))
        report.update(model=models["models"][0]["id"], capacity=capacity, single_request_s=single)
        print(f"serve load: {report['model']} on {url}, clip {args.clip.name} ({len(clip)} bytes), "
              f"queue capacity {capacity}, single request {single * 1000:.0f} ms", flush=True)  # fmt: skip
        if args.soak:
            assert server is not None
            report["soak"], ok = soak(args, server, clip, capacity)
        else:
            report["levels"], ok = load_test(args, url, clip, capacity, single)
    finally:
        if server:
            still_up = server.process.poll() is None
            code = server.stop()
            report["server_exit"] = code
            if not still_up:
                print(f"the server crashed (exit {code}); log: {server.log.name}", flush=True)
                ok = False
            else:
                leftovers = server.leftovers()
                report["leftover_folders"] = leftovers
                ok = ok and not leftovers
            if ok:  # keep the server's log and temp folder only when something went wrong
                shutil.rmtree(server.tmp, ignore_errors=True)
    if args.json:
        write_json_atomic(args.json, report)
    print("result: " + ("ok" if ok else "FAILED"), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
