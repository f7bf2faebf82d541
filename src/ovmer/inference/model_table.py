"""Every model ovmer can run, in one table: spec prefix → the function that builds it.

A spec is ``PREFIX`` or ``PREFIX:ARGUMENT``:

* ``clues`` — the offline clue engine (:class:`ovmer.clues.answerer.ClueAnswerer`);
* ``affectgpt:<model>[?key=value&…]`` — AffectGPT (:func:`ovmer.inference.affectgpt.affectgpt_from_spec`),
  the OV-label question, greedy by default; ``<model>`` is an ovmer model folder, a Hugging Face id,
  or an official ``.pth`` with ``config=affectgpt-face|affectgpt-frame``;
* ``openai:URL#MODEL[?key=value&…]`` — any model behind an OpenAI-compatible chat endpoint (vLLM,
  hosted APIs), asked upstream's baseline question with frames and audio as message parts
  (:func:`ovmer.baselines.openai.openai_from_spec`, docs/baselines.md);
* ``hf:<hub id or folder>[@revision][?key=value&…]`` — a transformers-native zero-shot baseline chosen
  by the checkpoint's ``model_type`` (:func:`ovmer.baselines.hf.hf_from_spec`, docs/baselines.md).

A new model family adds one line here and a class that satisfies
:class:`~ovmer.inference.protocol.AnswerModel`; ``bench``, ``infer`` and the server then run it.
"""

from __future__ import annotations

from collections.abc import Callable

from ovmer.errors import OvmerError
from ovmer.inference.protocol import AnswerModel


def _clues(argument: str) -> AnswerModel:
    from ovmer.clues.answerer import ClueAnswerer

    if argument:
        raise OvmerError(f"model spec 'clues' takes no argument, got 'clues:{argument}'")
    return ClueAnswerer()


def _hf(argument: str) -> AnswerModel:
    from ovmer.baselines.hf import hf_from_spec

    return hf_from_spec(argument)


def _affectgpt(argument: str) -> AnswerModel:
    from ovmer.inference.affectgpt import affectgpt_from_spec

    return affectgpt_from_spec(argument)


def _openai(argument: str) -> AnswerModel:
    from ovmer.baselines.openai import openai_from_spec

    return openai_from_spec(argument)


#: spec prefix → factory(argument after the colon).
MODEL_FACTORIES: dict[str, Callable[[str], AnswerModel]] = {
    "clues": _clues,
    "affectgpt": _affectgpt,
    "openai": _openai,
    "hf": _hf,
}


def build_answer_model(spec: str) -> AnswerModel:
    """Build a model from ``PREFIX`` or ``PREFIX:ARGUMENT`` (see :data:`MODEL_FACTORIES`)."""
    prefix, _, argument = spec.partition(":")
    factory = MODEL_FACTORIES.get(prefix)
    if factory is None:
        raise OvmerError(f"unknown model spec {spec!r}; known: {', '.join(sorted(MODEL_FACTORIES))}")
    return factory(argument)
