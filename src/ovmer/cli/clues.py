"""``ovmer describe VIDEO --engine clues``: the offline clue engine on the command line.

``ovmer describe`` (in :mod:`ovmer.cli.model`) calls :func:`run_clues` for ``--engine clues``.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.panel import Panel

from ovmer.cli.common import console


def run_clues(
    video: Path, *, as_json: bool, llm: str | None, subtitle: str | None, fps: float, no_asr: bool
) -> None:
    """Run the clue engine and print clues, description and labels (or the JSON object)."""
    from ovmer.clues import describe_with_clues

    result = describe_with_clues(video, subtitle=subtitle, llm=llm, fps=fps, transcribe_speech=not no_asr)
    if as_json:
        from ovmer.clues.answerer import clue_record

        typer.echo(json.dumps(clue_record(result, video.stem, video).to_json(), ensure_ascii=False))
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
