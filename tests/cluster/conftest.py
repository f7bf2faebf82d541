"""One real two-node Ray cluster for the whole ``tests/cluster`` session, and a tiny MER2023 tree."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.cluster.local_cluster import LocalRayCluster

# Ray reads its auth settings once, when this process first uses it: the token of the test cluster
# is chosen and set before anything here imports ray (restored when the session ends).
TOKEN = secrets.token_hex(16)
_SAVED_ENV = {key: os.environ.get(key) for key in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
os.environ.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": TOKEN})

pytest.importorskip("ray.data", reason="--ray needs the [ray] extra")
pytest.importorskip("mediapipe", reason="prepare and the clue engine need the [media] extra")
pytest.importorskip("opensmile", reason="the clue engine needs the [media] extra")


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRayCluster]:
    """``ray start --head`` on 127.0.0.1 plus a second node joining it (1 CPU each); this process
    joins with the head's token. Every process of the cluster is stopped at the end."""
    # Ray's unix sockets must fit in 107 bytes: a short folder, not pytest's deep tmp path.
    folder = Path(f"/tmp/ovmer-ray-{os.getpid()}")
    cluster = LocalRayCluster(folder, token=TOKEN)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
        for key, value in _SAVED_ENV.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert not cluster.pids(), "a Ray process of the test cluster outlived it"


@pytest.fixture(scope="session")
def clip_and_wav(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from tests.synth import write_clip, write_wav

    folder = tmp_path_factory.mktemp("cluster-media")
    tone = 0.2 * np.sin(2 * np.pi * 300 * np.arange(16_000) / 16_000)
    return write_clip(folder / "clip.mp4", seconds=0.4, width=32, height=32), write_wav(
        folder / "tone.wav", tone[None, :]
    )


def mer_tree(root: Path, clip_and_wav: tuple[Path, Path], n_test: int, missing: int = 1) -> list[str]:
    """A MER2023 test split of ``n_test`` tiny clips, the last ``missing`` of them without a video
    (failing samples); returns the test names."""
    from tests.data.trees import build_tree

    clip, wav = clip_and_wav
    tree = build_tree(root, "mer2023", clip=clip, wav=wav, n_test=n_test, n_train=0)
    for name in tree.test_names[n_test - missing :]:
        (tree.folder / tree.dataset.video_dirs[0] / f"{name}{tree.dataset.video_exts[0]}").unlink()
    return tree.test_names
