"""A real two-node Ray cluster on 127.0.0.1 for the ``--ray`` tests: ``ray start --head`` plus a
second ``ray start --address`` process joining it, with token authentication (Ray 2.60's default).

Every process the cluster starts inherits a marker variable; :meth:`LocalRayCluster.stop` ends
exactly those (by pid, found through ``/proc/<pid>/environ``), so other Ray users of the machine
are never touched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

MARKER = "OVMER_TEST_RAY_CLUSTER"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ray_executable() -> str:
    return str(Path(sys.executable).with_name("ray"))


class LocalRayCluster:
    """Head + one worker node, 1 CPU and a small object store each."""

    def __init__(
        self,
        temp_dir: Path,
        *,
        token: str | None = None,
        cpus_per_node: int = 1,
        object_store_bytes: int = 80_000_000,
    ) -> None:
        self.temp_dir = temp_dir
        self.cpus = cpus_per_node
        self.object_store = object_store_bytes
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.marker = secrets.token_hex(8)
        self.env = {
            **os.environ,
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": token or secrets.token_hex(16),
            "RAY_USAGE_STATS_ENABLED": "0",
            "OVMER_OFFLINE": "1",  # workers never download (as the tests' own process)
            "OVMER_CACHE_DIR": str(temp_dir / "ovmer-cache"),
            MARKER: self.marker,
        }

    def client_env(self) -> dict[str, str]:
        """What a driver needs to join: the token and the address."""
        return {
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": self.env["RAY_AUTH_TOKEN"],
            "RAY_ADDRESS": self.address,
        }

    def _ray(self, *args: str, timeout: float = 120) -> None:
        subprocess.run(
            [
                _ray_executable(),
                "start",
                *args,
                "--node-ip-address",
                "127.0.0.1",
                "--num-cpus",
                str(self.cpus),
                "--num-gpus",
                "0",
                "--object-store-memory",
                str(self.object_store),
                "--temp-dir",
                str(self.temp_dir),
                "--disable-usage-stats",
            ],
            env=self.env,
            check=True,
            timeout=timeout,
            capture_output=True,
        )

    def start(self) -> LocalRayCluster:
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        self._ray("--head", "--port", str(self.port), "--include-dashboard=false")
        self._ray("--address", self.address)
        return self

    def pids(self) -> list[int]:
        """The pids of every live process of this cluster (its marker in their environment)."""
        needle = f"{MARKER}={self.marker}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def worker_pids(self, title: str) -> list[int]:
        """Pids of this cluster's Ray workers whose process title contains ``title``."""
        found = []
        for pid in self.pids():
            try:
                cmdline = (
                    Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
            except OSError:
                continue
            if title in cmdline:
                found.append(pid)
        return found

    def stop(self) -> None:
        """SIGTERM, then SIGKILL, every process of this cluster (and only those)."""
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            pids = self.pids()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and self.pids():
                time.sleep(0.1)
            if not self.pids():
                return
