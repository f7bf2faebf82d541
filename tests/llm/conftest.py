from __future__ import annotations

from pathlib import Path

import pytest

from ovmer.llm.settings import SamplingSettings

from .tiny_model import build_tiny_chat_model

#: Short replies keep the random model fast; everything else as the deterministic preset.
FAST = SamplingSettings(max_tokens=12)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-qwen"))


@pytest.fixture(scope="session")
def tiny_chat_template_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-qwen-tpl"), chat_template=True)
