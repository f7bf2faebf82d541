"""Zero-shot baseline specs: ``hf:<hub id or folder>[@revision][?key=value&…]`` and their options.

The options after ``?`` are shared by every baseline scheme (``hf:`` here, ``openai:URL#MODEL?…``
in :mod:`ovmer.baselines.openai`), so :func:`parse_options` takes the query alone and the set of
keys the scheme accepts. Values are checked against the field types; an error names the key, the
value and what is allowed (:class:`~ovmer.errors.BaselineSpecError`).

Options (docs/baselines.md, 'Spec options'):

* ``modalities`` — which inputs the model reads, a subset of ``a``, ``v``, ``t`` written like
  ``v,t`` or ``vt`` (default: all the model supports); ``t`` is the subtitle.
* ``subtitle`` — ``on`` (the question carries the subtitle), ``off``, or ``addsub`` (answer without
  it, then merge the answer with the subtitle by the clue-merge prompt, as upstream's
  ``nosubtitle-addsub`` variant, ``OV-MER/merge.py``).
* ``merger`` — the extractor backend spec that runs the clue merge for ``addsub`` (``ovmer.llm``;
  default: the extractor default).
* ``frames`` — video frames per clip (8, as Video-LLaVA's video processor upstream).
* ``dtype``, ``device`` — ``auto`` (fp16 / CUDA when available) or a torch name.
* ``batch_size`` — clips per generate call (greedy answers do not depend on it).
* ``max_new_tokens`` — the answer budget (default 1024, Video-LLaVA's upstream budget).
* ``decoding`` — ``greedy`` (default) or ``paper`` (upstream's sampling where upstream ran that model;
  an error for a model upstream did not run).
* ``seed`` — the torch seed set before each sampled batch (``decoding=paper``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovmer.errors import BaselineSpecError

#: Modality letters: audio, video (frames), text (the subtitle).
MODALITY_LETTERS = ("a", "v", "t")
SUBTITLE_VARIANTS = ("on", "off", "addsub")
DECODING_MODES = ("greedy", "paper")
#: Upstream's answer budget for Video-LLaVA (``OV-MER/Video-LLaVA/main-video.py``), our default.
DEFAULT_MAX_NEW_TOKENS = 1024
#: Frames per clip: Video-LLaVA's video processor samples 8 (docs/baselines.md).
DEFAULT_FRAMES = 8


@dataclass(frozen=True)
class BaselineOptions:
    """The ``key=value`` options of a baseline spec, typed, with the defaults documented above.

    ``modalities`` None means "all the model supports"; :func:`resolve_modalities` fills it in.
    """

    modalities: tuple[str, ...] | None = None
    subtitle: str = "on"
    merger: str | None = None
    frames: int = DEFAULT_FRAMES
    dtype: str = "auto"
    device: str = "auto"
    batch_size: int = 4
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    decoding: str = "greedy"
    seed: int = 0

    def describe(self) -> dict[str, Any]:
        """The options that change answers, as plain JSON values (recorded with every run)."""
        return {
            "modalities": "".join(self.modalities or ()),
            "subtitle": self.subtitle,
            "merger": self.merger,
            "frames": self.frames,
            "max_new_tokens": self.max_new_tokens,
            "decoding": self.decoding,
            "seed": self.seed if self.decoding != "greedy" else None,
        }


#: Every option key (a scheme may accept fewer: ``parse_options(..., allowed=...)``).
OPTION_KEYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(BaselineOptions))


def parse_options(query: str, *, scheme: str, allowed: tuple[str, ...] = OPTION_KEYS) -> BaselineOptions:
    """``key=value&key=value`` → :class:`BaselineOptions`.

    Args:
        query: the text after ``?`` (may be empty).
        scheme: the spec prefix (``hf``, ``openai``), named in errors.
        allowed: the keys this scheme accepts (default: all of :data:`OPTION_KEYS`).
    """
    values: dict[str, Any] = {}
    for item in filter(None, query.split("&")):
        key, sep, value = item.partition("=")
        if not sep or key not in allowed:
            raise BaselineSpecError(
                f"{scheme} spec option {item!r} is not key=value with a known key ({', '.join(allowed)})"
            )
        if key in values:
            raise BaselineSpecError(f"{scheme} spec option {key!r} is given twice")
        values[key] = _convert(scheme, key, value)
    return BaselineOptions(**values)


def _convert(scheme: str, key: str, value: str) -> Any:
    if key == "modalities":
        return parse_modalities(value, scheme=scheme)
    if key in ("frames", "batch_size", "max_new_tokens", "seed"):
        try:
            number = int(value)
        except ValueError:
            raise BaselineSpecError(f"{scheme} spec option {key} must be an integer, got {value!r}") from None
        if number < (0 if key == "seed" else 1):
            raise BaselineSpecError(f"{scheme} spec option {key} must be positive, got {value!r}")
        return number
    choices = {"subtitle": SUBTITLE_VARIANTS, "decoding": DECODING_MODES}.get(key)
    if choices is not None and value not in choices:
        raise BaselineSpecError(
            f"{scheme} spec option {key} must be one of {', '.join(choices)}, got {value!r}"
        )
    if not value:
        raise BaselineSpecError(f"{scheme} spec option {key} needs a value")
    return value


def require_merger(options: BaselineOptions) -> bool:
    """Whether the options ask for the clue merge (``subtitle=addsub``); raises
    :class:`~ovmer.errors.BaselineSpecError` when they do without naming the ``merger`` backend."""
    if options.subtitle != "addsub":
        return False
    if not options.merger:
        raise BaselineSpecError(
            "subtitle=addsub merges each answer with the subtitle by an LLM: add merger=<extractor spec>, "
            "for example merger=hf:Qwen/Qwen2.5-7B-Instruct (the paper's) or merger=openai:URL#MODEL"
        )
    return True


def parse_modalities(value: str, *, scheme: str = "hf") -> tuple[str, ...]:
    """``"v,t"`` or ``"vt"`` → ``("v", "t")`` in canonical a, v, t order; unknown letters are an error."""
    letters = [c for c in value.lower() if c not in ", +"]
    unknown = sorted({c for c in letters if c not in MODALITY_LETTERS})
    if unknown or not letters:
        raise BaselineSpecError(
            f"{scheme} spec option modalities must be letters among a, v, t (audio, video, subtitle), got {value!r}"
        )
    return tuple(m for m in MODALITY_LETTERS if m in letters)


def resolve_modalities(options: BaselineOptions, supported: tuple[str, ...], model: str) -> tuple[str, ...]:
    """The modalities a run uses: the options' (checked against ``supported``) or all ``supported``.

    ``t`` follows the subtitle option: ``subtitle=off`` or ``addsub`` means the model itself reads no
    text, so ``t`` is dropped from the default, and asking for ``t`` with ``subtitle=off`` is an error.
    """
    if options.modalities is None:
        chosen = tuple(m for m in supported if m != "t" or options.subtitle == "on")
    else:
        extra = [m for m in options.modalities if m not in supported]
        if extra:
            raise BaselineSpecError(
                f"model {model} reads {', '.join(supported)}; modalities={''.join(options.modalities)} asks "
                f"for {', '.join(extra)} as well"
            )
        chosen = options.modalities
        if "t" in chosen and options.subtitle != "on":
            raise BaselineSpecError(
                f"modalities={''.join(chosen)} includes t (the subtitle) but subtitle={options.subtitle}; "
                "use subtitle=on or drop t"
            )
        if "t" not in chosen and options.subtitle == "on" and options.modalities is not None:
            raise BaselineSpecError(
                f"modalities={''.join(chosen)} has no t but subtitle=on; add t or set subtitle=off"
            )
    if not [m for m in chosen if m != "t"]:
        raise BaselineSpecError(
            f"model {model}: modalities must include a or v, got {''.join(chosen) or 'none'}"
        )
    return chosen


@dataclass(frozen=True)
class HFSpec:
    """A parsed ``hf:`` spec: where the model comes from and the options."""

    source: str  # a local folder or a Hugging Face Hub id
    revision: str | None
    options: BaselineOptions

    @property
    def is_folder(self) -> bool:
        return Path(self.source).is_dir()


def parse_hf_spec(argument: str) -> HFSpec:
    """``<hub id or folder>[@revision][?key=value&…]`` (the text after ``hf:``) → :class:`HFSpec`.

    An existing folder is taken whole even when its path contains ``@``; otherwise the last ``@``
    separates a Hub revision (branch, tag or commit).
    """
    source, _, query = argument.partition("?")
    if not source:
        raise BaselineSpecError(
            "model spec 'hf:' needs a model: hf:<Hugging Face id or folder>[@revision][?key=value&…], "
            "for example hf:LanguageBind/Video-LLaVA-7B-hf"
        )
    revision: str | None = None
    if not Path(source).exists() and "@" in source:
        source, _, revision = source.rpartition("@")
        if not source or not revision:
            raise BaselineSpecError(f"model spec 'hf:{argument}': write hf:<id>@<revision> with both parts")
    return HFSpec(source=source, revision=revision, options=parse_options(query, scheme="hf"))
