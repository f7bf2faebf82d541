"""The vLLM extractor backend without vLLM: its requests (rendered text, stop tokens, sampling) and
its post-processing, checked against the transformers backend on a tiny random Qwen2.

vLLM needs a CUDA machine; here a reference engine runs the same tiny model with transformers from
the sampling dicts the backend builds, so a wrong request (another text, other stop ids, another
budget) gives other replies than the hf: backend and fails the test.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from ovmer.errors import BackendError
from ovmer.llm.backends import HFChatBackend, parse_backend
from ovmer.llm.local_model import derive_seed
from ovmer.llm.prompts import ovlabels_prompt
from ovmer.llm.settings import SamplingSettings
from ovmer.llm.vllm_backend import VLLMBackend, VLLMOptions, parse_vllm_spec

from .conftest import FAST

PROMPTS = [ovlabels_prompt(t) for t in ("He is happy.", "She looks worried and sad.", "x")]


class TransformersEngine:
    """Runs ``vllm.SamplingParams``-style dicts greedily with transformers, one prompt at a time."""

    def __init__(self, folder: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForCausalLM.from_pretrained(folder).eval()
        self.calls: list[int] = []

    def generate(self, texts: list[str], params: list[dict[str, Any]]) -> list[str]:
        import torch

        self.calls.append(len(texts))
        replies = []
        for text, p in zip(texts, params, strict=True):
            assert p["temperature"] == 0.0 and p["skip_special_tokens"]
            ids = self.tokenizer(text, return_tensors="pt", add_special_tokens=False)
            with torch.no_grad():
                out = self.model.generate(
                    **ids,
                    max_new_tokens=p["max_tokens"],
                    repetition_penalty=p["repetition_penalty"],
                    eos_token_id=p["stop_token_ids"],
                    pad_token_id=self.tokenizer.pad_token_id or p["stop_token_ids"][0],
                    do_sample=False,
                )
            new = out[0, ids["input_ids"].shape[1] :]
            replies.append(self.tokenizer.decode(new, skip_special_tokens=True))
        return replies


def test_greedy_replies_equal_the_transformers_backend(tiny_model_dir: Path) -> None:
    engine = TransformersEngine(tiny_model_dir)
    backend = VLLMBackend(str(tiny_model_dir), FAST, engine=engine)
    reference = HFChatBackend(tiny_model_dir, FAST, batch_size=1, device="cpu")
    replies = backend.generate(PROMPTS)
    assert replies == reference.generate(PROMPTS)
    assert engine.calls == [3]  # one engine call for the whole list: vLLM schedules it
    texts, params = backend.requests(PROMPTS)
    assert texts == [reference.render(p) for p in PROMPTS]
    assert all(p["stop_token_ids"] == reference._eos_ids() for p in params)
    assert {p["max_tokens"] for p in params} == {FAST.max_tokens}
    assert (
        backend.identity.startswith(f"vllm:{tiny_model_dir}@") and backend.identity[1:] != reference.identity
    )


def test_sampled_requests_carry_the_per_prompt_seed(tiny_model_dir: Path) -> None:
    paper = SamplingSettings(temperature=0.7, top_p=0.8, max_tokens=12, seed=1)
    backend = VLLMBackend(str(tiny_model_dir), paper, engine=TransformersEngine(tiny_model_dir))
    _, params = backend.requests(PROMPTS)
    _, reversed_params = backend.requests(list(reversed(PROMPTS)))
    assert [p["seed"] for p in params] == [derive_seed(1, p) for p in PROMPTS]
    assert params == list(reversed(reversed_params))  # order does not change a prompt's request
    assert (params[0]["temperature"], params[0]["top_p"]) == (0.7, 0.8)


class FlakyEngine(TransformersEngine):
    """Fails any batch holding a prompt that mentions BROKEN, as an engine error would."""

    def generate(self, texts: list[str], params: list[dict[str, Any]]) -> list[str]:
        if any("BROKEN" in t for t in texts):
            raise RuntimeError("engine failed on this prompt")
        return super().generate(texts, params)


def test_a_failing_prompt_is_its_own_error(tiny_model_dir: Path) -> None:
    engine = FlakyEngine(tiny_model_dir)
    backend = VLLMBackend(str(tiny_model_dir), FAST, engine=engine)
    first, second, broken = backend.generate([*PROMPTS[:2], ovlabels_prompt("BROKEN")])
    assert [first, second] == HFChatBackend(tiny_model_dir, FAST, device="cpu").generate(PROMPTS[:2])
    assert isinstance(broken, RuntimeError)
    assert engine.calls == [1, 1]  # the failed batch of 3 was retried prompt by prompt


def test_spec_options_and_errors(tiny_model_dir: Path) -> None:
    source, options = parse_vllm_spec(f"{tiny_model_dir}?tensor_parallel_size=2&gpu_memory_utilization=0.5")
    assert source == str(tiny_model_dir) and options == VLLMOptions(
        tensor_parallel_size=2, gpu_memory_utilization=0.5
    )
    for bad, message in {
        "": "needs a model",
        "m?tp=2": "known key",
        "m?max_model_len=x": "not a int",
    }.items():
        with pytest.raises(BackendError, match=message):
            parse_vllm_spec(bad)
    if importlib.util.find_spec("vllm") is None:
        with pytest.raises(BackendError, match="pip install vllm"):
            parse_backend(f"vllm:{tiny_model_dir}")
