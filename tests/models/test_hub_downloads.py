"""Downloads from the Hugging Face Hub, against a real local hub on 127.0.0.1 (tests/fake_hub.py).

Covers the official ``.pth`` fetched by repo id + filename (library and CLI), backbones fetched by
Hugging Face id at their pinned revisions, and an ovmer model folder fetched by repo id; each then
works offline from the HF cache with the hub shut down.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.errors import ModelError
from ovmer.models.checkpoint import RELEASE_REPO, official_state_dict, resolve_checkpoint
from ovmer.models.configuration_affectgpt import AffectGPTConfig
from ovmer.models.loading import TRAINABLE_FILE, convert_checkpoint, load_model
from ovmer.models.modeling_affectgpt import build_audio, build_vision
from ovmer.models.tiny import tiny_config, tiny_tokenizer
from tests.conftest import RUN
from tests.fake_hub import FakeHub
from tests.models.helpers import make_tiny, write_official_pth

pytestmark = pytest.mark.network

#: Where upstream's face checkpoints live inside the release (docs/model.md, 'Checkpoint files').
PTH_FILE = f"output/emercoarse_highlevelfilter4_outputhybird_bestsetup_bestfusion_lz/{RUN}/checkpoint_000030_loss_0.602.pth"
PINNED = "0123456789abcdef0123456789abcdef01234567"
NEWER = "89abcdef0123456789abcdef0123456789abcdef"


def _publish_release(hub: FakeHub, tmp_path: Path) -> dict[str, dict[str, torch.Tensor]]:
    """MERChallenge/AffectGPT with the checkpoint at PINNED and a retrained one at NEWER (= main)."""
    states = {}
    for sha, seed in ((PINNED, 11), (NEWER, 12)):
        model, _ = make_tiny("frame", seed=seed)
        pth = write_official_pth(model, tmp_path / f"{sha}.pth")
        hub.add_commit(RELEASE_REPO, {PTH_FILE: pth, "README.md": f"AffectGPT {seed}\n"}, sha=sha)
        states[sha] = official_state_dict(model)
    return states


def _assert_loads_strictly(pth: Path, config: Path, expected: dict[str, torch.Tensor]) -> None:
    loaded = load_model(pth, config=config, merge_lora=False)
    got = official_state_dict(loaded.model)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, msg=key)


# ---------------------------------------------------------------------- official .pth by repo id
def test_checkpoint_downloads_at_pinned_revision_then_works_offline(
    fake_hub: FakeHub, tiny_frame_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    states = _publish_release(fake_hub, tmp_path)
    path = resolve_checkpoint(RELEASE_REPO, PTH_FILE, revision=PINNED)
    assert path.is_file() and path.name == "checkpoint_000030_loss_0.602.pth"
    assert f"snapshots/{PINNED}/output/" in path.as_posix()
    _assert_loads_strictly(path, tiny_frame_dir, states[PINNED])
    # One metadata request at the pinned revision (302 to the CDN, as for LFS files), one blob download.
    assert fake_hub.resolve_requests(RELEASE_REPO) == [(PINNED, PTH_FILE)]
    assert [r.method for r in fake_hub.requests if r.server == "cdn"] == ["GET"]

    fake_hub.stop()  # no network from here on
    monkeypatch.setenv("OVMER_OFFLINE", "1")
    assert resolve_checkpoint(RELEASE_REPO, PTH_FILE, revision=PINNED) == path
    with pytest.raises(
        ModelError, match=r"cannot download .*checkpoint_000030_loss_0\.602\.pth from MERChallenge"
    ):
        resolve_checkpoint(RELEASE_REPO, PTH_FILE, revision=NEWER)  # never downloaded


def test_checkpoint_default_revision_is_main_and_is_remembered_offline(
    fake_hub: FakeHub, tiny_frame_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    states = _publish_release(fake_hub, tmp_path)
    path = resolve_checkpoint(RELEASE_REPO, PTH_FILE)
    assert f"snapshots/{NEWER}/" in path.as_posix()
    assert fake_hub.resolve_requests(RELEASE_REPO) == [("main", PTH_FILE)]
    fake_hub.stop()
    monkeypatch.setenv("OVMER_OFFLINE", "1")
    again = resolve_checkpoint(RELEASE_REPO, PTH_FILE)  # through refs/main in the cache
    assert again == path
    _assert_loads_strictly(again, tiny_frame_dir, states[NEWER])


@pytest.mark.parametrize(
    ("repo", "filename", "revision", "reason"),
    [
        (RELEASE_REPO, PTH_FILE, "f" * 40, "Revision Not Found"),
        (RELEASE_REPO, PTH_FILE, "v9", "Revision Not Found"),
        (RELEASE_REPO, "checkpoint_000099_loss_0.100.pth", PINNED, "Entry Not Found"),
        ("MERChallenge/NoSuchRepo", PTH_FILE, None, "Repository Not Found"),
    ],
)
def test_checkpoint_download_errors_name_file_and_repo(
    fake_hub: FakeHub, tmp_path: Path, repo: str, filename: str, revision: str | None, reason: str
) -> None:
    _publish_release(fake_hub, tmp_path)
    with pytest.raises(ModelError) as info:
        resolve_checkpoint(repo, filename, revision=revision)
    message = str(info.value)
    assert f"cannot download {filename} from {repo}" in message
    assert reason in message


def test_cli_inspect_and_convert_from_the_hub(
    fake_hub: FakeHub, tiny_frame_dir: Path, tmp_path: Path
) -> None:
    states = _publish_release(fake_hub, tmp_path)
    runner = CliRunner()
    hub_args = [RELEASE_REPO, "--filename", PTH_FILE, "--revision", PINNED]
    result = runner.invoke(app, ["checkpoint", "inspect", *hub_args])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["tensors"] == 48 and info["epoch"] == 30 and f"snapshots/{PINNED}/" in info["file"]
    out = tmp_path / "converted"
    result = runner.invoke(
        app, ["checkpoint", "convert", *hub_args, "--config", str(tiny_frame_dir), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert {rev for rev, _ in fake_hub.resolve_requests(RELEASE_REPO)} == {PINNED}
    loaded = load_model(out, merge_lora=False)
    for key, value in official_state_dict(loaded.model).items():
        torch.testing.assert_close(value, states[PINNED][key], msg=key)
    missing = runner.invoke(app, ["checkpoint", "inspect", RELEASE_REPO, "--filename", "nope.pth"])
    assert missing.exit_code == 2
    assert "cannot download nope.pth from MERChallenge/AffectGPT" in " ".join(missing.output.split())


# ---------------------------------------------------------------------- backbones by Hugging Face id
BACKBONES = ("llm", "vision", "audio")


@dataclasses.dataclass
class HubBackbones:
    """Tiny random backbones as saved by ``save_pretrained``: one folder per (backbone, seed)."""

    config: AffectGPTConfig  # tiny architecture, the shipped affectgpt-frame ids and pinned revisions
    folders: dict[tuple[str, int], Path]

    def publish(self, hub: FakeHub) -> None:
        """Seed 0 at each pinned revision; seed 1 (same shapes, other weights) as a newer main."""
        for part in BACKBONES:
            repo, revision = getattr(self.config, f"{part}_id"), getattr(self.config, f"{part}_revision")
            hub.add_folder(repo, self.folders[(part, 0)], sha=revision)
            hub.add_folder(repo, self.folders[(part, 1)], branch="main")


@pytest.fixture(scope="module")
def hub_backbones(tmp_path_factory: pytest.TempPathFactory) -> HubBackbones:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = tiny_tokenizer()
    shipped = AffectGPTConfig.from_pretrained("affectgpt-frame")
    pins = {
        f"{part}_{key}": getattr(shipped, f"{part}_{key}") for part in BACKBONES for key in ("id", "revision")
    }
    config = dataclasses.replace(tiny_config("frame", tokenizer), **pins)
    root = tmp_path_factory.mktemp("hub-backbones")
    folders = {}
    for seed in (0, 1):
        torch.manual_seed(seed)
        parts = {
            "llm": Qwen2ForCausalLM(Qwen2Config(**config.text_config)),
            "vision": build_vision(config),
            "audio": build_audio(config),
        }
        for part, module in parts.items():
            folder = folders[(part, seed)] = root / f"{part}-{seed}"
            module.save_pretrained(folder)
        tokenizer.save_pretrained(folders[("llm", seed)])  # the tokenizer lives in the LLM repo
    return HubBackbones(config, folders)


def _backbone_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Frozen tensors that tell two random backbones apart (vision, audio; LLM embeddings and head)."""
    llm = model.llm.get_base_model()
    tensors = {f"vision.{k}": v for k, v in model.vision.state_dict().items()}
    tensors |= {f"audio.{k}": v for k, v in model.audio.state_dict().items()}
    tensors["llm.embed_tokens"] = llm.model.embed_tokens.weight
    tensors["llm.lm_head"] = llm.lm_head.weight
    return {k: v.detach().clone() for k, v in tensors.items()}


def _expected_backbones(hub_backbones: HubBackbones, seed: int) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    vision = load_file(str(hub_backbones.folders[("vision", seed)] / "model.safetensors"))
    audio = load_file(str(hub_backbones.folders[("audio", seed)] / "model.safetensors"))
    llm = load_file(str(hub_backbones.folders[("llm", seed)] / "model.safetensors"))
    tensors = {f"vision.{k}": v for k, v in vision.items()}
    tensors |= {f"audio.{k}": v for k, v in audio.items()}
    tensors["llm.embed_tokens"] = llm["model.embed_tokens.weight"]
    tensors["llm.lm_head"] = llm["lm_head.weight"]
    return tensors


def _assert_same(got: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, msg=key)


def _assert_only_pinned_revisions(hub: FakeHub, config: AffectGPTConfig) -> None:
    for part in BACKBONES:
        repo, revision = getattr(config, f"{part}_id"), getattr(config, f"{part}_revision")
        assert hub.resolve_requests(repo), f"{repo} was never asked for"
        assert hub.revisions_requested(repo) == {revision}, repo


def test_backbones_come_from_hub_ids_at_their_pinned_revisions(
    fake_hub: FakeHub, hub_backbones: HubBackbones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub_backbones.publish(fake_hub)
    config = hub_backbones.config
    assert config.llm_id == "Qwen/Qwen2.5-7B-Instruct" and len(config.llm_revision or "") == 40
    model, _ = make_tiny("frame", seed=5)
    pth = write_official_pth(model, tmp_path / "checkpoint_000030_loss_0.602.pth")

    loaded = load_model(pth, config=config, merge_lora=False)  # no folder: backbones and tokenizer by id
    _assert_same(_backbone_tensors(loaded.model), _expected_backbones(hub_backbones, seed=0))
    _assert_same(official_state_dict(loaded.model), official_state_dict(model))
    _assert_only_pinned_revisions(fake_hub, config)
    assert loaded.processor.placeholder_ids["<FrameHere>"] == config.placeholder_token_ids[2]  # type: ignore[index]

    fake_hub.stop()
    monkeypatch.setenv("OVMER_OFFLINE", "1")
    offline = load_model(pth, config=config, merge_lora=False)
    _assert_same(_backbone_tensors(offline.model), _expected_backbones(hub_backbones, seed=0))


def test_backbone_errors_name_the_backbone_and_revision(
    fake_hub: FakeHub, hub_backbones: HubBackbones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub_backbones.publish(fake_hub)
    model, _ = make_tiny("frame", seed=5)
    pth = write_official_pth(model, tmp_path / "c.pth")
    missing = dataclasses.replace(hub_backbones.config, vision_revision="e" * 40)
    with pytest.raises(ModelError) as info:
        load_model(pth, config=missing)
    message = str(info.value)
    assert f"cannot load the backbone openai/clip-vit-large-patch14 at revision {'e' * 40}" in message
    assert "Qwen" not in message and "Check the id and revision" in message
    # Offline, the LLM (fetched above) comes from the cache; CLIP at its real pin was never fetched.
    monkeypatch.setenv("OVMER_OFFLINE", "1")
    asked = len(fake_hub.requests)
    with pytest.raises(
        ModelError, match=r"(?s)backbone openai/clip-vit-large-patch14 at revision 32bd642.*Offline"
    ):
        load_model(pth, config=hub_backbones.config)
    assert len(fake_hub.requests) == asked


def test_model_folder_by_repo_id_with_hub_backbones(
    fake_hub: FakeHub, hub_backbones: HubBackbones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ovmer folder (config + LoRA/heads, no backbones, no tokenizer) published as a hub repo."""
    hub_backbones.publish(fake_hub)
    model, _ = make_tiny("frame", seed=6)
    folder = tmp_path / "package"
    convert_checkpoint(write_official_pth(model, tmp_path / "c.pth"), hub_backbones.config, folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        "adapter",
        "config.json",
        "conversion.json",
        TRAINABLE_FILE,
    ]
    fake_hub.add_folder("ovmer-test/affectgpt-tiny-frame", folder)

    loaded = load_model("ovmer-test/affectgpt-tiny-frame", merge_lora=False)
    _assert_same(official_state_dict(loaded.model), official_state_dict(model))
    _assert_same(_backbone_tensors(loaded.model), _expected_backbones(hub_backbones, seed=0))
    _assert_only_pinned_revisions(fake_hub, hub_backbones.config)

    fake_hub.stop()
    monkeypatch.setenv("OVMER_OFFLINE", "1")
    offline = load_model("ovmer-test/affectgpt-tiny-frame", merge_lora=False)
    _assert_same(official_state_dict(offline.model), official_state_dict(model))


def test_model_folder_by_repo_id_at_a_pinned_revision(
    fake_hub: FakeHub, hub_backbones: HubBackbones, tmp_path: Path
) -> None:
    """``ORG/NAME@REVISION`` loads that commit even when ``main`` has moved on."""
    hub_backbones.publish(fake_hub)
    repo = "ovmer-test/affectgpt-tiny-frame"
    models = {}
    for sha, seed in ((PINNED, 7), (NEWER, 8)):
        model, _ = make_tiny("frame", seed=seed)
        folder = tmp_path / sha
        convert_checkpoint(write_official_pth(model, tmp_path / f"{sha}.pth"), hub_backbones.config, folder)
        fake_hub.add_folder(repo, folder, sha=sha)
        models[sha] = official_state_dict(model)
    pinned = load_model(f"{repo}@{PINNED}", merge_lora=False)
    _assert_same(official_state_dict(pinned.model), models[PINNED])
    assert fake_hub.revisions_requested(repo) == {PINNED}
    latest = load_model(repo, merge_lora=False)
    _assert_same(official_state_dict(latest.model), models[NEWER])
    with pytest.raises(ModelError, match=rf"cannot fetch the model {repo} at revision {'f' * 40}"):
        load_model(f"{repo}@{'f' * 40}")
    with pytest.raises(ModelError, match=r"ORG/NAME\[@REVISION\]"):
        load_model(f"{repo}@")
