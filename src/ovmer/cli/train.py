"""``ovmer train CONFIG [key=value …]``, ``ovmer features extract`` and ``ovmer train-export``.

Thin over :mod:`ovmer.train`. For several GPUs or nodes, start the same command through
``accelerate launch [--config_file configs/accelerate/ddp.yaml] -m ovmer train CONFIG …``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ovmer.cli.common import console

features_app = typer.Typer(help="Frozen-encoder feature cache for training.", no_args_is_help=True)

ConfigArg = Annotated[
    str, typer.Argument(help="Named training config (mercaptionplus-face, …) or a YAML file.")
]
OverridesArg = Annotated[
    list[str] | None,
    typer.Argument(help="section.key=value overrides, e.g. data.root=/data/MER2025 run.max_steps=100"),
]


def register(app: typer.Typer) -> None:
    """Add the training commands to the ``ovmer`` app."""
    app.command("train")(train_command)
    app.command("train-export")(export_command)
    app.add_typer(features_app, name="features")


def train_command(
    config: ConfigArg,
    overrides: OverridesArg = None,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Print the resolved config and exit.")
    ] = False,
) -> None:
    """Train or fine-tune AffectGPT (resumes from the newest checkpoint in run.output_dir)."""
    from ovmer.train.config import dump_yaml, load_train_config

    cfg = load_train_config(config, overrides or [])
    if print_config:
        console.print(dump_yaml(cfg), highlight=False, markup=False)
        return
    from ovmer.train.recipe import train

    result = train(cfg)
    if result.losses and os.environ.get("RANK", "0") == "0":
        console.print(
            f"trained steps {result.start_step}–{result.final_step}; last loss {result.losses[-1]:.4f}; "
            f"checkpoint {result.checkpoint}; skipped samples {result.skipped}"
        )


def export_command(
    checkpoint: Annotated[Path, typer.Argument(help="A checkpoints/step_… folder of a training run.")],
    out: Annotated[Path, typer.Argument(help="Output folder (official file name is built) or .pth file.")],
) -> None:
    """Export a training checkpoint in the official AffectGPT .pth layout (docs/training.md)."""
    from ovmer.atomic import check_writable_dir, check_writable_file
    from ovmer.train.recipe import export_official

    if out.suffix == ".pth":
        check_writable_file(out, "OUT")
    else:
        check_writable_dir(out, "OUT")
    console.print(str(export_official(checkpoint, out)))


@features_app.command("extract")
def extract_command(
    config: ConfigArg,
    overrides: OverridesArg = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Cache folder (default: data.feature_cache of the config).")
    ] = None,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda …")] = "cpu",
) -> None:
    """Run CLIP and HuBERT once per training sample and store the features (resumable)."""
    import torch

    from ovmer.train.config import load_train_config
    from ovmer.train.data import filter_by_length
    from ovmer.train.features import encoder_fingerprint, extract_features
    from ovmer.train.recipe import build_model, build_samples

    overrides = list(overrides or [])
    # The cache is read in clean mode: eval-mode encoders and per-sample audio statistics.
    base = ["model.encoders_train_mode=false"]
    cfg = load_train_config(config, base + overrides)
    if cfg.model.audio_normalization == "joint_batch":
        cfg.model.audio_normalization = "per_sample"
    target = out or (Path(cfg.data.feature_cache) if cfg.data.feature_cache else None)
    if target is None:
        raise typer.BadParameter("give --out DIR or data.feature_cache=DIR")
    from ovmer.atomic import check_writable_dir

    check_writable_dir(target, "--out")
    built = build_model(cfg, torch.device(device))
    samples, _ = filter_by_length(build_samples(cfg), built.processor, cfg.data.tasks, cfg.data.max_length)
    counts = extract_features(
        built.model, built.processor, samples, target, encoder_fingerprint(built.model, built.local_backbones)
    )
    console.print(f"features in {target}: {counts}")
