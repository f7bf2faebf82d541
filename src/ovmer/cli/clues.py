"""``ovmer describe VIDEO --engine clues``: the offline clue engine on the command line.

The ``describe`` command also belongs to the AffectGPT engine (model branch). This module registers
its own ``describe`` only when none exists yet, so both can be installed and merged into one command
with ``--engine`` later; :func:`run_clues` is the part such a merged command calls.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.panel import Panel

from ovmer.cli.common import console, handle_errors
from ovmer.errors import OvmerError


def run_clues(
    video: Path, *, as_json: bool, llm: str | None, subtitle: str | None, fps: float, no_asr: bool
) -> None:
    """Run the clue engine and print clues, description and labels (or the JSON object)."""
    from ovmer.clues import describe_with_clues

    result = describe_with_clues(video, subtitle=subtitle, llm=llm, fps=fps, transcribe_speech=not no_asr)
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    clues = result.clues
    face = clues["face"]
    voice = clues["voice"]
    lines = [
        f"[bold]video[/]   {clues['video']['file']}, {clues['video']['duration_s']} s, "
        f"{face.get('face_frames', 0)}/{face.get('frames', 0)} frames with a face",
        f"[bold]face[/]    {', '.join(face.get('active', [])) or 'no strong facial cue'}",
    ]
    if voice.get("speech"):
        lines.append(
            f"[bold]voice[/]   pitch {voice['pitch_hz']} Hz ({voice['pitch_level']}, {voice['pitch_contour']}), "
            f"loudness {voice['loudness_level']}, rate {voice['speaking_rate']}, {len(voice['pauses'])} long pauses"
        )
    speech = clues["speech"]
    lines.append(f"[bold]speech[/]  {escape(speech['text']) or '(none)'}  [dim]({speech.get('source')})[/]")
    lexical = speech.get("lexical", {})
    lines.append(
        f"[bold]words[/]   {escape(', '.join(lexical.get('emotion_words', []))) or 'no emotion words'}; "
        f"polarity {lexical.get('polarity', 'neutral')}"
    )
    console.print(Panel("\n".join(lines), title="clues", expand=False))
    console.print(Panel(escape(result.description), title="description", expand=False))
    console.print(Panel(escape("[" + ", ".join(result.ov_labels) + "]"), title="OV labels", expand=False))


def register(app: typer.Typer) -> None:
    """Add ``describe`` unless another module already did (see the module docstring)."""
    names = {
        info.name or (info.callback.__name__ if info.callback else "") for info in app.registered_commands
    }
    if "describe" in names:
        return
    app.command("describe")(describe)


@handle_errors
def describe(
    video: Annotated[Path, typer.Argument(help="Video (or audio) file.")],
    engine: Annotated[str, typer.Option(help="Description engine; this install provides 'clues'.")] = "clues",
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"clues", "description", "ov_labels"} as JSON.')
    ] = False,
    llm: Annotated[
        str | None,
        typer.Option("--llm", help="Merge clues and subtitle with an LLM: hf:ID or openai:URL#MODEL."),
    ] = None,
    subtitle: Annotated[
        str | None, typer.Option(help="What is said (skips using the transcript as text).")
    ] = None,
    fps: Annotated[float, typer.Option(help="Frames per second given to the face mesh.")] = 5.0,
    no_asr: Annotated[bool, typer.Option("--no-asr", help="Do not transcribe the speech.")] = False,
) -> None:
    """Describe the emotional state of the person in a clip: clues, a description and OV labels."""
    if engine != "clues":
        raise OvmerError(f"engine {engine!r} is not installed here; use --engine clues")
    run_clues(video, as_json=as_json, llm=llm, subtitle=subtitle, fps=fps, no_asr=no_asr)
