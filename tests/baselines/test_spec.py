"""``hf:`` spec parsing and the shared ``key=value`` options (docs/baselines.md, 'Spec options')."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovmer.baselines.spec import BaselineOptions, parse_hf_spec, parse_options, resolve_modalities
from ovmer.errors import BaselineSpecError, OvmerError


def test_defaults() -> None:
    spec = parse_hf_spec("LanguageBind/Video-LLaVA-7B-hf")
    assert spec.source == "LanguageBind/Video-LLaVA-7B-hf" and spec.revision is None
    assert spec.options == BaselineOptions()
    assert spec.options.frames == 8 and spec.options.decoding == "greedy" and spec.options.subtitle == "on"


def test_revision_and_options() -> None:
    spec = parse_hf_spec("org/model@abc123?frames=4&subtitle=off&modalities=v&max_new_tokens=16&batch_size=2")
    assert (spec.source, spec.revision) == ("org/model", "abc123")
    o = spec.options
    assert (o.frames, o.subtitle, o.modalities, o.max_new_tokens, o.batch_size) == (4, "off", ("v",), 16, 2)


def test_folder_with_at_sign_is_taken_whole(tmp_path: Path) -> None:
    folder = tmp_path / "model@v1"
    folder.mkdir()
    spec = parse_hf_spec(f"{folder}?decoding=paper")
    assert spec.source == str(folder) and spec.revision is None and spec.is_folder
    assert spec.options.decoding == "paper"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("frame=8", "'frame=8' is not key=value with a known key"),
        ("frames", "'frames' is not key=value"),
        ("frames=eight", "frames must be an integer, got 'eight'"),
        ("frames=0", "frames must be positive"),
        ("subtitle=yes", "subtitle must be one of on, off, addsub, got 'yes'"),
        ("decoding=beam", "decoding must be one of greedy, paper, got 'beam'"),
        ("modalities=vx", "modalities must be letters among a, v, t"),
        ("dtype=", "dtype needs a value"),
        ("frames=4&frames=8", "'frames' is given twice"),
    ],
)
def test_bad_options_name_key_and_value(query: str, message: str) -> None:
    with pytest.raises(BaselineSpecError, match=message):
        parse_hf_spec(f"org/model?{query}")
    assert issubclass(BaselineSpecError, OvmerError)


def test_scheme_may_accept_fewer_keys() -> None:
    with pytest.raises(BaselineSpecError, match="openai spec option 'dtype=fp16'"):
        parse_options("dtype=fp16", scheme="openai", allowed=("modalities", "subtitle"))
    assert parse_options("modalities=v,t", scheme="openai").modalities == ("v", "t")


def test_empty_model_is_an_error() -> None:
    with pytest.raises(BaselineSpecError, match="needs a model"):
        parse_hf_spec("?frames=8")


def test_modalities_resolve_against_the_model() -> None:
    assert resolve_modalities(BaselineOptions(), ("v", "t"), "m") == ("v", "t")
    assert resolve_modalities(BaselineOptions(subtitle="off"), ("v", "t"), "m") == ("v",)
    assert resolve_modalities(BaselineOptions(modalities=("v", "t")), ("v", "t"), "m") == ("v", "t")
    with pytest.raises(BaselineSpecError, match="reads v, t; modalities=av asks for a"):
        resolve_modalities(BaselineOptions(modalities=("a", "v")), ("v", "t"), "m")
    with pytest.raises(BaselineSpecError, match=r"includes t .* but subtitle=off"):
        resolve_modalities(BaselineOptions(modalities=("v", "t"), subtitle="off"), ("v", "t"), "m")
    with pytest.raises(BaselineSpecError, match="has no t but subtitle=on"):
        resolve_modalities(BaselineOptions(modalities=("v",)), ("v", "t"), "m")
    with pytest.raises(BaselineSpecError, match="must include a or v"):
        resolve_modalities(BaselineOptions(modalities=("t",)), ("v", "t"), "m")
