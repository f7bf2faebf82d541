"""``--fidelity``, ``--decoding``, ``--strict-inputs`` and ``--max-new-tokens`` of ``ovmer describe`` / ``infer``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from ovmer.cli.main import app
from ovmer.cli.model import Decoding, FidelityName, _decoding, _fidelity
from ovmer.inference.engine import AffectGPTEngine
from ovmer.models.fidelity import CLEAN, PAPER
from ovmer.models.loading import load_model
from tests.models.helpers import write_clip, write_wav


def test_fidelity_flags_compose() -> None:
    assert _fidelity(FidelityName.clean, None) == CLEAN
    assert _fidelity(FidelityName.paper, None, None) == PAPER
    greedy = _fidelity(FidelityName.paper, Decoding.greedy, False)
    assert (greedy.decoding, greedy.strict_inputs, greedy.lora) == ("greedy", False, "fp32_unmerged")
    strict_clean = _fidelity(FidelityName.clean, Decoding.paper, True)
    assert (strict_clean.decoding, strict_clean.strict_inputs, strict_clean.lora) == ("paper", True, "merged")
    for command in ("describe", "infer"):
        help_text = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
        assert "--fidelity" in help_text and "--strict-inputs" in help_text


def test_budget_defaults_to_the_model_config(tiny_frame_dir: Path) -> None:
    engine = AffectGPTEngine(load_model(tiny_frame_dir, fidelity="paper"))
    settings = _decoding(engine, seed=3, max_new_tokens=None)
    assert settings.max_new_tokens == engine.model.config.generation.max_new_tokens == 1200
    assert (settings.mode, settings.seed, settings.ban_first_step_eos) == ("paper", 3, False)
    assert _decoding(engine, seed=0, max_new_tokens=9).max_new_tokens == 9


def test_describe_paper_fidelity(tmp_path: Path, tiny_frame_dir: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", [(i * 20 % 255, 90, 160) for i in range(16)], audio_seconds=2.0)
    base = ["describe", str(clip), "--model", str(tiny_frame_dir), "--subtitle", "Fine.", "--json"]
    base += ["--max-new-tokens", "4"]
    runner = CliRunner()

    # Paper = strict inputs: no wav beside the clip, so its audio track is not accepted instead.
    refused = runner.invoke(app, [*base, "--fidelity", "paper"])
    assert refused.exit_code != 0 and "wav" in refused.output.lower()

    lenient = runner.invoke(app, [*base, "--fidelity", "paper", "--no-strict-inputs", "--seed", "3"])
    assert lenient.exit_code == 0, lenient.output
    decoding = json.loads(lenient.output)["details"]["decoding"]
    assert decoding["mode"] == "paper" and decoding["seed"] == 3 and decoding["max_new_tokens"] == 4
    assert decoding["first_step_eos"] == "allowed"

    greedy = runner.invoke(app, [*base, "--fidelity", "paper", "--decoding", "greedy", "--no-strict-inputs"])
    assert greedy.exit_code == 0, greedy.output
    assert json.loads(greedy.output)["details"]["decoding"] == {
        "mode": "greedy",
        "max_new_tokens": 4,
        "first_step_eos": "allowed",
    }

    write_wav(clip.with_suffix(".wav"), np.zeros(32000, np.float32))
    strict = runner.invoke(app, [*base, "--fidelity", "paper"])
    assert strict.exit_code == 0, strict.output
    assert json.loads(strict.output)["inputs"]["audio_source"] == "wav"

    clean = runner.invoke(app, base)
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.output)["details"]["decoding"] == {"mode": "greedy", "max_new_tokens": 4}
