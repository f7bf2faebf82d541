"""``ovmer model summary``, ``ovmer checkpoint convert|inspect``, ``ovmer describe`` and ``ovmer infer``."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ovmer.cli.common import EXIT_SOME_FAILED, RayOption, console, print_error
from ovmer.errors import OvmerError

model_app = typer.Typer(help="AffectGPT model configs and parameter counts.", no_args_is_help=True)
checkpoint_app = typer.Typer(
    help="Official AffectGPT checkpoints: inspect and convert.", no_args_is_help=True
)


class Task(str, Enum):
    ovlabels = "ovlabels"
    description = "description"


class Decoding(str, Enum):
    greedy = "greedy"
    paper = "paper"


class FidelityName(str, Enum):
    """Named inference settings of ``ovmer.models.fidelity`` (docs/model.md, "Fidelity settings")."""

    clean = "clean"
    paper = "paper"


class Engine(str, Enum):
    affectgpt = "affectgpt"
    clues = "clues"  # the offline clue engine (ovmer.clues): no model, no download


class DType(str, Enum):
    auto = "auto"
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"


ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="ovmer model folder, official .pth (with --config), or Hugging Face id (ORG/NAME[@REVISION]).",
    ),
]
#: Where an official .pth comes from: a local file, or a Hugging Face repo + --filename [--revision].
CheckpointArg = Annotated[str, typer.Argument(help="Local .pth or Hugging Face repo id (with --filename).")]
FilenameOption = Annotated[str | None, typer.Option("--filename", help="File inside the HF repo.")]
RevisionOption = Annotated[
    str | None, typer.Option("--revision", help="Branch, tag or commit sha of the HF repo (default: main).")
]
ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config", help="For a .pth: named config (affectgpt-face, affectgpt-frame) or model folder."
    ),
]
DeviceOption = Annotated[str, typer.Option("--device", help="cpu, cuda, cuda:1 …")]
DTypeOption = Annotated[
    DType, typer.Option("--dtype", help="LLM dtype: fp32 (CPU), fp16 (paper) or bf16 (CUDA).")
]
DecodingOption = Annotated[
    Decoding | None,
    typer.Option(
        "--decoding",
        help="greedy (deterministic) or paper (top-k 20, top-p 0.9, T 1, seeded); default: the --fidelity's.",
    ),
]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of --decoding paper.")]
MaxTokensOption = Annotated[
    int | None,
    typer.Option(
        "--max-new-tokens",
        min=1,
        help="Generation budget (default: the model config's, 1200 as in the paper).",
    ),
]
FidelityOption = Annotated[
    FidelityName,
    typer.Option(
        "--fidelity",
        help="clean (default: merged LoRA, fast tokenizer, no empty answers, long prompts refused, greedy) "
        "or paper (upstream: fp32 LoRA unmerged, slow tokenizer, EOS allowed at once, last 800 prompt "
        "tokens kept, paper sampling, strict inputs). See docs/model.md.",
    ),
]
StrictInputsOption = Annotated[
    bool | None,
    typer.Option(
        "--strict-inputs/--no-strict-inputs",
        help="Refuse samples whose OpenFace array or wav is missing instead of detecting faces / using "
        "the video's audio (default: the --fidelity's; paper: strict).",
    ),
]


def _fidelity(name: FidelityName, decoding: Decoding | None, strict_inputs: bool | None = None) -> Any:
    """The named setting with the explicit --decoding / --strict-inputs applied over it."""
    from ovmer.models.fidelity import get_fidelity

    changes: dict[str, Any] = {}
    if decoding is not None:
        changes["decoding"] = decoding.value
    if strict_inputs is not None:
        changes["strict_inputs"] = strict_inputs
    return get_fidelity(name.value).replace(**changes)


def _decoding(engine: Any, seed: int, max_new_tokens: int | None) -> Any:
    """Complete decoding settings: mode and EOS rule from the engine's fidelity, budget from the model
    config unless --max-new-tokens is given."""
    return engine.decoding_settings(
        engine.fidelity.decoding_settings(seed=seed, max_new_tokens=max_new_tokens)
    )


def _engine(model: str, config: str | None, device: str, dtype: DType, fidelity: Any) -> Any:
    from ovmer.inference.engine import load_engine

    return load_engine(model, config, device, dtype.value, fidelity=fidelity)


@model_app.command("summary")
def summary(
    config: Annotated[str, typer.Argument(help="Named config (affectgpt-face, affectgpt-frame) or a path.")],
    meta: Annotated[
        bool, typer.Option("--meta", help="Build on the meta device: no weights, no download.")
    ] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the counts to this JSON file.")
    ] = None,
) -> None:
    """Print trainable and total parameter counts of a config (57,168,644 trainable at full size)."""
    import torch

    from ovmer.atomic import check_writable_file, write_json_atomic
    from ovmer.models.configuration_affectgpt import AffectGPTConfig
    from ovmer.models.modeling_affectgpt import AffectGPTModel

    if json_out is not None:
        check_writable_file(json_out, "--json")

    cfg = AffectGPTConfig.from_pretrained(config)
    if meta:
        with torch.device("meta"):
            model = AffectGPTModel(cfg)
    else:
        model = AffectGPTModel(cfg)
    counts = model.parameter_summary()
    result = {"config": cfg.name, "trainable": counts["trainable"], "total": counts["total"], **counts}
    if json_out is not None:
        write_json_atomic(json_out, result)
    console.print_json(json.dumps(result))


@checkpoint_app.command("inspect")
def inspect(
    checkpoint: CheckpointArg,
    filename: FilenameOption = None,
    revision: RevisionOption = None,
) -> None:
    """List what an official checkpoint holds (entries, epoch, tensor counts, LoRA rank, heads)."""
    from ovmer.models.checkpoint import inspect_checkpoint, resolve_checkpoint

    console.print_json(json.dumps(inspect_checkpoint(resolve_checkpoint(checkpoint, filename, revision))))


@checkpoint_app.command("convert")
def convert(
    checkpoint: CheckpointArg,
    config: Annotated[
        str, typer.Option("--config", help="affectgpt-face, affectgpt-frame, or a model folder.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output ovmer model folder.")],
    filename: FilenameOption = None,
    revision: RevisionOption = None,
) -> None:
    """Strictly convert an official .pth into a safetensors + peft folder that loads without it."""
    from ovmer.atomic import check_writable_dir
    from ovmer.models.checkpoint import resolve_checkpoint
    from ovmer.models.loading import convert_checkpoint

    check_writable_dir(out, "--out")

    result = convert_checkpoint(resolve_checkpoint(checkpoint, filename, revision), config, out)
    console.print(f"wrote {result['out']} ({result['tensors']} tensors, config {result['config']})")


def describe(
    video: Annotated[Path, typer.Argument(help="Video file (mp4, avi, …).")],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="AffectGPT: ovmer model folder, official .pth (with --config), or Hugging Face id (ORG/NAME[@REVISION]).",
        ),
    ] = None,
    subtitle: Annotated[str | None, typer.Option("--subtitle", help="What is said in the clip.")] = None,
    asr: Annotated[
        bool,
        typer.Option(
            "--asr", help="AffectGPT: transcribe the subtitle (faster-whisper; offline Whisper tiny.en)."
        ),
    ] = False,
    asr_model: Annotated[
        str | None, typer.Option("--asr-model", help="AffectGPT --asr: a Whisper model folder or id.")
    ] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="AffectGPT --asr: spoken language (en, zh …).")
    ] = None,
    task: Annotated[Task, typer.Option("--task", help="ovlabels (default) or description.")] = Task.ovlabels,
    engine: Annotated[
        Engine,
        typer.Option("--engine", help="affectgpt (needs --model) or clues (offline clue engine, CPU only)."),
    ] = Engine.affectgpt,
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm", help="clues: merge clues and subtitle with an LLM (hf:ID or openai:URL#MODEL)."
        ),
    ] = None,
    fps: Annotated[
        float, typer.Option("--fps", min=0.1, help="clues: frames per second given to the face mesh.")
    ] = 5.0,
    no_asr: Annotated[bool, typer.Option("--no-asr", help="clues: do not transcribe the speech.")] = False,
    audio: Annotated[
        Path | None, typer.Option("--audio", help="Audio file (default: <video>.wav, else the video).")
    ] = None,
    faces: Annotated[
        Path | None,
        typer.Option(
            "--faces",
            help="Face model: official OpenFace crops .npy (default: faces detected in the video).",
        ),
    ] = None,
    config: ConfigOption = None,
    device: DeviceOption = "auto",
    dtype: DTypeOption = DType.auto,
    fidelity: FidelityOption = FidelityName.clean,
    decoding: DecodingOption = None,
    strict_inputs: StrictInputsOption = None,
    seed: SeedOption = 0,
    max_new_tokens: MaxTokensOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object instead of the text.")] = False,
) -> None:
    """Describe the emotions in one video with AffectGPT, or offline with the clue engine.

    Examples: ovmer describe clip.mp4 --model affectgpt-face-e60/ --subtitle "I am fine." --json;
    ovmer describe clip.mp4 --engine clues --json
    """
    if engine is Engine.clues:
        from ovmer.cli.clues import run_clues

        run_clues(video, as_json=as_json, llm=llm, subtitle=subtitle, fps=fps, no_asr=no_asr)
        return
    from ovmer.inference.describe import describe_video
    from ovmer.media.asr import transcriber

    if model is None:
        raise OvmerError(
            "--model is required with --engine affectgpt (or use --engine clues, which needs no model)"
        )
    if subtitle is not None and asr:
        raise OvmerError("give either --subtitle or --asr, not both")
    if not video.is_file():
        raise OvmerError(f"video not found: {video}")
    runner = _engine(model, config, device, dtype, _fidelity(fidelity, decoding, strict_inputs))
    result = describe_video(
        runner,
        video,
        subtitle=subtitle,
        task=task.value,
        decoding=_decoding(runner, seed, max_new_tokens),
        audio=audio,
        faces=faces,
        asr=transcriber(asr_model, language) if asr else None,
        strict_inputs=runner.fidelity.strict_inputs,
    )
    if as_json:
        console.print_json(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        console.print(result.text or "", highlight=False, markup=False)


def infer(
    out: Annotated[Path, typer.Option("--out", help="Output folder (resumable).")],
    model: ModelOption,
    dataset: Annotated[
        str,
        typer.Option(
            "--dataset", help="Dataset id (ovmer data list: mer2023, meld, cmumosi, …) or csv:MANIFEST.csv."
        ),
    ],
    root: Annotated[
        Path | None,
        typer.Option("--root", help="Folder holding the dataset's official folder (or that folder itself)."),
    ] = None,
    split: Annotated[
        str, typer.Option("--split", help="test (default) or val where the dataset has one.")
    ] = "test",
    prepared: Annotated[
        Path | None,
        typer.Option(
            "--prepared",
            help="An `ovmer prepare` cache of this dataset: prepared samples are not decoded again.",
        ),
    ] = None,
    task: Annotated[Task, typer.Option("--task")] = Task.ovlabels,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 8,
    config: ConfigOption = None,
    device: DeviceOption = "auto",
    dtype: DTypeOption = DType.auto,
    fidelity: FidelityOption = FidelityName.clean,
    decoding: DecodingOption = None,
    strict_inputs: StrictInputsOption = None,
    seed: SeedOption = 0,
    max_new_tokens: MaxTokensOption = None,
    run_name: Annotated[
        str | None, typer.Option("--run-name", help="Run folder of the npz (default: from --model).")
    ] = None,
    checkpoint_name: Annotated[
        str | None,
        typer.Option("--checkpoint-name", help="npz file name (default: the .pth name or 'model')."),
    ] = None,
    skip_errors: Annotated[
        bool, typer.Option("--skip-errors", help="Log unreadable samples and go on.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N samples (quick checks).")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Media decoding threads.")] = 4,
    ray: RayOption = None,
) -> None:
    """Run AffectGPT on a whole benchmark split; resumes where an interrupted run stopped.

    With --ray, each Ray actor loads the model once (one GPU each where the cluster has GPUs) and
    decoding runs in CPU tasks; the output folder is the one a local run writes.
    """
    from ovmer.atomic import check_writable_dir
    from ovmer.data.benchmarks import get_benchmark
    from ovmer.data.registry import CSV_PREFIX, is_manifest, load_samples

    check_writable_dir(out, "--out")
    if is_manifest(dataset):
        # Results go under the manifest's name: ``csv:runs/my_videos.csv`` → ``my_videos``.
        dataset_name = Path(dataset[len(CSV_PREFIX) :]).stem
    else:
        if root is None:
            raise OvmerError(
                f"--root is required for --dataset {dataset} (or use --dataset csv:MANIFEST.csv)"
            )
        dataset_name = get_benchmark(dataset).result_dir  # upstream's results-<name> (iemocap: iemocapfour)
    samples = load_samples(root, dataset, split)
    if limit is not None:
        samples = samples[:limit]
    source = Path(model)
    default_run = source.parent.name if source.suffix == ".pth" else source.name
    default_ckpt = source.stem if source.suffix == ".pth" else "model"
    if ray is not None:
        from ovmer.cluster.infer import infer_split_on_ray
        from ovmer.cluster.recipe import AffectGPTRecipe

        recipe = AffectGPTRecipe(
            model,
            config,
            device,
            dtype.value,
            _fidelity(fidelity, decoding, strict_inputs),
            seed=seed,
            max_new_tokens=max_new_tokens,
            task=task.value,
            batch_size=batch_size,
            prepared=None if prepared is None else str(prepared),
            dataset_id=dataset,
        )
        result = infer_split_on_ray(
            recipe,
            samples,
            out,
            dataset=dataset_name,
            task=task.value,
            address=ray,
            run_name=run_name or default_run,
            checkpoint_name=checkpoint_name or default_ckpt,
            skip_errors=skip_errors,
        )
    else:
        from ovmer.inference.split import infer_split

        runner = _engine(model, config, device, dtype, _fidelity(fidelity, decoding, strict_inputs))
        result = infer_split(
            runner,
            samples,
            out,
            dataset=dataset_name,
            task=task.value,
            decoding=_decoding(runner, seed, max_new_tokens),
            strict_inputs=runner.fidelity.strict_inputs,
            batch_size=batch_size,
            run_name=run_name or default_run,
            checkpoint_name=checkpoint_name or default_ckpt,
            skip_errors=skip_errors,
            workers=workers,
            prepared=prepared,
            dataset_id=dataset,
        )
    console.print(
        f"{dataset_name}: {result.generated} generated, {result.already_done} already done, {result.skipped} skipped "
        f"of {result.total}; {result.samples_per_second:.2f} samples/s; {result.jsonl}"
        + (f"; {result.npz}" if result.npz else "")
    )
    if result.skipped:
        errors = result.jsonl.with_name("errors.jsonl")
        print_error(
            f"{result.skipped} sample(s) failed ({escape(str(errors))}); run the same command again to retry them"
        )
        raise typer.Exit(EXIT_SOME_FAILED)


def register(app: typer.Typer) -> None:
    """Attach the model, checkpoint, describe and infer commands to the main app."""
    app.add_typer(model_app, name="model")
    app.add_typer(checkpoint_app, name="checkpoint")
    app.command("describe")(describe)
    app.command("infer")(infer)
