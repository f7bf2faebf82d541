"""Kill tests: run a real ``ovmer`` command in a subprocess, stop it with a signal part-way, rerun it,
and check that nothing was lost, torn, duplicated or left running (docs/cli.md, "Interrupting a run").

Each test is bounded to a few seconds on a tiny input; the point where the signal is sent is either
"the first output file appeared" or a seeded random delay, so a failure can be replayed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.models.conftest import _no_hub, tiny_face_dir, tiny_frame_dir

__all__ = ["_no_hub", "tiny_face_dir", "tiny_frame_dir"]

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]
SIGNAL_IDS = ["SIGINT", "SIGTERM", "SIGKILL"]


def ovmer(*args: str | os.PathLike[str]) -> list[str]:
    """The command line of ``ovmer ARGS`` run by this interpreter."""
    return [sys.executable, "-m", "ovmer", *(os.fspath(a) for a in args)]


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found |= {child, *_children(child)}
    return found


def alive(pid: int) -> bool:
    """``pid`` runs (a zombie counts as dead)."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


class Stopper:
    """Start a command, send ``signum`` once ``ready()`` holds, and check that nothing outlives it."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []
        self.descendants: set[int] = set()

    def run(
        self,
        command: list[str],
        signum: signal.Signals,
        ready: Callable[[], bool],
        *,
        timeout: float = 60,
        env: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """Run ``command`` until ``ready()`` (polled), then signal it; returns (exit code, output).

        SIGINT goes to the process group, as Ctrl-C in a terminal sends it; SIGTERM and SIGKILL go to
        the command's process only, as ``kill PID`` or an out-of-memory killer does.
        """
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # An inherited *ignored* SIGINT would keep Python from raising KeyboardInterrupt.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            env={**os.environ, **(env or {})},
        )
        self.started.append(process)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None and not ready():
            self.descendants |= _children(process.pid)
            time.sleep(0.01)
        self.descendants |= _children(process.pid)
        assert process.poll() is None, (
            "the command ended before it could be stopped: "
            + (process.communicate()[0].decode(errors="replace")[-2000:])
        )
        if signum == signal.SIGINT:
            os.killpg(process.pid, signum)
        else:
            os.kill(process.pid, signum)
        output, _ = process.communicate(timeout=timeout)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(map(alive, self.descendants)):
            time.sleep(0.05)
        survivors = [pid for pid in self.descendants if alive(pid)]
        assert not survivors, f"processes outlived the stopped command: {survivors}"
        return process.returncode, output.decode(errors="replace")

    def cleanup(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for pid in self.descendants:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def stopper() -> Iterator[Stopper]:
    if not Path(f"/proc/{os.getpid()}/task").is_dir():
        pytest.skip("kill tests need Linux /proc to find child processes")
    stop = Stopper()
    try:
        yield stop
    finally:
        stop.cleanup()


def expected_exit(signum: signal.Signals) -> set[int]:
    """Exit codes of a command stopped by ``signum``: 130 after Ctrl-C (docs/cli.md), else killed."""
    if signum == signal.SIGINT:
        return {130}
    return {-int(signum), 130, 128 + int(signum)}


def assert_no_torn_files(folder: Path) -> None:
    """Every JSONL line parses and no atomic-write temporary is left behind."""
    leftovers = [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers, f"temporaries left behind: {leftovers}"
    for path in folder.rglob("*.jsonl"):
        text = path.read_text(encoding="utf-8")
        assert not text or text.endswith("\n"), f"{path}: torn last line"
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                json.loads(line)
            except ValueError:
                pytest.fail(f"{path}:{number}: not JSON: {line[:80]!r}")


def first_file(folder: Path, pattern: str, count: int = 1) -> Callable[[], bool]:
    """A ``ready`` condition: ``count`` files matching ``pattern`` exist under ``folder``."""
    return lambda: sum(1 for p in folder.glob(pattern) if not p.name.startswith(".")) >= count


def lines_in(path: Path, count: int = 1) -> Callable[[], bool]:
    """A ``ready`` condition: ``path`` holds at least ``count`` lines."""

    def ready() -> bool:
        try:
            return path.read_bytes().count(b"\n") >= count
        except OSError:
            return False

    return ready
