"""The HTTP backend against a real server on 127.0.0.1 that answers with a tiny real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovmer.errors import BackendError
from ovmer.llm.backends import HFChatBackend, HTTPSettings, OpenAIBackend, parse_backend
from ovmer.llm.prompts import ovlabels_prompt

from .conftest import FAST
from .openai_server import ServerState, serve

pytestmark = pytest.mark.network

PROMPTS = [ovlabels_prompt(t) for t in ("He is happy.", "She looks worried.", "Nothing.", "Calm.", "Angry!")]


@pytest.fixture(scope="module")
def local_backend(tiny_model_dir: Path) -> HFChatBackend:
    return HFChatBackend(tiny_model_dir, FAST, batch_size=1, device="cpu")


def test_chat_mode_returns_the_models_replies(local_backend: HFChatBackend) -> None:
    expected = local_backend.generate(PROMPTS)
    state = ServerState(local_backend)
    with serve(state) as url:
        client = parse_backend(f"openai:{url}#tiny-qwen", FAST, http=HTTPSettings(concurrency=2))
        assert isinstance(client, OpenAIBackend)
        assert client.generate(PROMPTS) == expected
    assert state.requests == len(PROMPTS)
    assert 1 <= state.max_in_flight <= 2
    body = state.bodies[0]
    assert body["model"] == "tiny-qwen"
    assert body["temperature"] == 0.0 and body["max_tokens"] == 12 and body["seed"] == 0
    assert body["repetition_penalty"] == 1.05
    sent = sorted(b["messages"][0]["content"] for b in state.bodies)  # arrival order varies
    assert sent == sorted(PROMPTS)
    assert all(len(b["messages"]) == 1 and b["messages"][0]["role"] == "user" for b in state.bodies)


def test_completions_mode_batches_prompts(local_backend: HFChatBackend) -> None:
    expected = local_backend.generate(PROMPTS)
    state = ServerState(local_backend)
    with serve(state) as url:
        client = OpenAIBackend(
            url, "tiny", FAST, HTTPSettings(mode="completions", batch_size=2, concurrency=1)
        )
        replies = client.generate(PROMPTS)
    assert state.requests == 3  # 5 prompts in batches of 2
    assert [len(b["prompt"]) for b in state.bodies] == [2, 2, 1]
    assert replies[:1] == expected[:1]  # a batch of one is exactly the local greedy reply
    assert all(isinstance(r, str) for r in replies)


def test_retries_after_server_errors(local_backend: HFChatBackend) -> None:
    state = ServerState(local_backend, fail_first=2)
    with serve(state) as url:
        client = OpenAIBackend(url, "tiny", FAST, HTTPSettings(concurrency=1, backoff_s=0.01, max_retries=4))
        replies = client.generate(PROMPTS[:1])
    assert isinstance(replies[0], str)
    assert state.requests == 3


def test_gives_up_and_reports_per_prompt(local_backend: HFChatBackend) -> None:
    state = ServerState(local_backend, fail_first=100)
    with serve(state) as url:
        client = OpenAIBackend(url, "tiny", FAST, HTTPSettings(concurrency=1, backoff_s=0.01, max_retries=2))
        replies = client.generate(PROMPTS[:2])
    assert all(isinstance(r, BackendError) for r in replies)
    assert "HTTP 503" in str(replies[0]) and "after 2 attempts" in str(replies[0])
    assert state.requests == 4


def test_timeout(local_backend: HFChatBackend) -> None:
    state = ServerState(local_backend, delay_s=1.0)
    with serve(state) as url:
        client = OpenAIBackend(url, "tiny", FAST, HTTPSettings(timeout_s=0.2, max_retries=1))
        replies = client.generate(PROMPTS[:1])
    assert isinstance(replies[0], BackendError)
    assert "timed out" in str(replies[0])


def test_unreachable_server() -> None:
    client = OpenAIBackend("http://127.0.0.1:9", "m", FAST, HTTPSettings(max_retries=1, timeout_s=1))
    [reply] = client.generate(["hi"])
    assert isinstance(reply, BackendError)
    assert "127.0.0.1:9" in str(reply)
