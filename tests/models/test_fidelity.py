"""The clean and paper fidelity settings: one test per setting, each showing its effect on the tiny model."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ovmer.errors import ModelError
from ovmer.inference.engine import AffectGPTEngine
from ovmer.models import loading
from ovmer.models.fidelity import CLEAN, PAPER, Fidelity, get_fidelity, keep_adapters_fp32
from ovmer.models.generation import DecodingSettings, StopRule, generate
from ovmer.models.loading import load_model
from ovmer.models.processing_affectgpt import AffectGPTProcessor, setup_tokenizer
from ovmer.models.prompts import DESCRIPTION_QUESTION, OV_QUESTION, build_prompt
from ovmer.models.slow_tokenizer import SlowBPETokenizer, slow_tokenizer_from_fast
from ovmer.models.tiny import tiny_config, tiny_tokenizer

SUBTITLES = [
    "I don't know! I, I, I don't have experience in this area.",
    "Café, naïve — déjà vu?  Two  spaces,\nnew line, digits 12345 and ### marks.",
    "",
]


# ---------------------------------------------------------------------- the presets
def test_presets_and_overrides() -> None:
    assert get_fidelity(None) is CLEAN and get_fidelity("paper") is PAPER
    assert (CLEAN.lora, CLEAN.tokenizer, CLEAN.ban_first_step_eos) == ("merged", "fast", True)
    assert (CLEAN.prompt_overflow, CLEAN.decoding, CLEAN.strict_inputs) == ("error", "greedy", False)
    assert (PAPER.lora, PAPER.tokenizer, PAPER.ban_first_step_eos) == ("fp32_unmerged", "slow", False)
    assert (PAPER.prompt_overflow, PAPER.decoding, PAPER.strict_inputs) == ("keep_last", "paper", True)
    assert CLEAN.name == "clean" and PAPER.name == "paper"
    greedy_paper = PAPER.replace(decoding="greedy")
    assert greedy_paper.name == "custom" and greedy_paper.strict_inputs
    assert greedy_paper.describe()["decoding"] == "greedy"
    with pytest.raises(ModelError, match="unknown fidelity setting"):
        get_fidelity("faithful")
    with pytest.raises(ModelError, match="unknown fidelity field"):
        PAPER.replace(sampling="paper")


# ---------------------------------------------------------------------- LoRA: merged vs fp32 apart
def test_paper_keeps_lora_unmerged(tiny_frame_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(loading, "keep_adapters_fp32", lambda llm: calls.append(llm) or 0)
    clean = load_model(tiny_frame_dir)
    assert clean.model.lora_merged and clean.fidelity is CLEAN and calls == []
    paper = load_model(tiny_frame_dir, fidelity="paper")
    assert not paper.model.lora_merged and paper.fidelity is PAPER
    assert calls == [paper.model.llm]  # adapters put back in fp32 after the LLM cast
    assert any("lora_A" in name for name, _ in paper.model.named_parameters())
    merged_anyway = load_model(tiny_frame_dir, fidelity="paper", merge_lora=True)
    assert merged_anyway.model.lora_merged and merged_anyway.fidelity.lora == "merged"


def test_fp32_adapters_over_fp16_base_match_merged_fp16(tiny_frame_dir: Path) -> None:
    """Upstream's precision (fp16 base, fp32 LoRA) vs ovmer's merged fp16: equal within fp16 rounding."""
    reference = load_model(tiny_frame_dir).model.llm  # merged, fp32
    merged16 = load_model(tiny_frame_dir).model.llm.to(torch.float16)
    apart = load_model(tiny_frame_dir, merge_lora=False).model.llm.to(torch.float16)
    assert {p.dtype for n, p in apart.named_parameters() if "lora_" in n} == {torch.float16}
    adapted = keep_adapters_fp32(apart)
    assert adapted == 2 * 7  # 2 layers x 7 linear types of the tiny config
    lora = {p.dtype for n, p in apart.named_parameters() if "lora_" in n}
    base = {p.dtype for n, p in apart.named_parameters() if "lora_" not in n}
    assert lora == {torch.float32} and base == {torch.float16}
    embeds = (
        torch.randn(1, 12, reference.config.hidden_size, generator=torch.Generator().manual_seed(0)) * 0.1
    )
    mask = torch.ones(1, 12, dtype=torch.long)
    with torch.no_grad():
        want = reference(inputs_embeds=embeds, attention_mask=mask).logits.float()
        got_apart = apart(inputs_embeds=embeds.half(), attention_mask=mask).logits.float()
        got_merged = merged16(inputs_embeds=embeds.half(), attention_mask=mask).logits.float()
    torch.testing.assert_close(got_apart, want, atol=2e-2, rtol=1e-2)
    torch.testing.assert_close(got_merged, want, atol=2e-2, rtol=1e-2)
    torch.testing.assert_close(got_apart, got_merged, atol=2e-2, rtol=1e-2)
    assert not torch.equal(got_apart, got_merged)  # two different computations, not one


# ---------------------------------------------------------------------- tokenizer: fast vs slow
def test_paper_uses_the_slow_tokenizer_with_the_same_ids(tiny_face_dir: Path) -> None:
    clean = load_model(tiny_face_dir).processor
    paper = load_model(tiny_face_dir, fidelity="paper").processor
    assert clean.tokenizer.is_fast
    assert isinstance(paper.tokenizer, SlowBPETokenizer) and not paper.tokenizer.is_fast
    assert paper.placeholder_ids == clean.placeholder_ids and paper.eos_ids == clean.eos_ids
    assert (paper.hash3_id, paper.hash2_id, paper.hash1_id) == (
        clean.hash3_id,
        clean.hash2_id,
        clean.hash1_id,
    )
    for subtitle in SUBTITLES:
        for task in ("ovlabels", "description"):
            prompt = clean.prompt(subtitle, task)
            ids = clean.tokenize_prompt(prompt)
            assert paper.tokenize_prompt(prompt) == ids
            assert paper.tokenizer.decode(ids) == clean.tokenizer.decode(ids)
    answer = clean.tokenize_prompt("Assistant: The character is happy.<|im_end|>")
    assert paper.decode_response(answer) == clean.decode_response(answer) == "The character is happy."


def _qwen_style_fast_tokenizer() -> Any:
    """A small tokenizer laid out like Qwen2.5's tokenizer.json: NFC, regex Split, ByteLevel without regex."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    qwen_pattern = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
    core = Tokenizer(models.BPE())
    core.normalizer = normalizers.NFC()
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(qwen_pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    corpus = [
        build_prompt("multiface_audio_face_text", s, q)
        for s in SUBTITLES
        for q in (OV_QUESTION, DESCRIPTION_QUESTION)
    ]
    core.train_from_iterator(corpus * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|im_end|>", pad_token="<|im_end|>", bos_token="<|im_start|>"
    )
    return setup_tokenizer(fast, expected_ids=None)


def test_slow_tokenizer_of_a_qwen_style_tokenizer() -> None:
    fast = _qwen_style_fast_tokenizer()
    slow = setup_tokenizer(slow_tokenizer_from_fast(fast), expected_ids=None)
    assert slow.normalize_nfc and "\\p{L}" in slow.pattern and len(slow) == len(fast)
    texts = [
        *SUBTITLES,
        "e\u0301 and \u212b: not NFC yet",  # NFC composes them, in both tokenizers
        "<FaceHere><MultiHere> x<AudioHere>y   \n\n  tail",
        "中文字幕，还有 emoji 🙂 and 'LL 'Ve",
    ]
    for text in texts:
        ids = fast(text, add_special_tokens=False)["input_ids"]
        assert slow(text, add_special_tokens=False)["input_ids"] == ids, text
        assert slow.decode(ids) == fast.decode(ids)


def test_slow_tokenizer_refuses_what_it_cannot_reproduce() -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE(vocab={"a": 0, "b": 1}, merges=[]))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    with pytest.raises(ModelError, match="pre-tokenizer"):
        slow_tokenizer_from_fast(PreTrainedTokenizerFast(tokenizer_object=core))
    core = Tokenizer(models.WordLevel(vocab={"a": 0}, unk_token="a"))
    with pytest.raises(ModelError, match="BPE"):
        slow_tokenizer_from_fast(PreTrainedTokenizerFast(tokenizer_object=core))


# ---------------------------------------------------------------------- first step: EOS banned vs allowed
def test_first_step_eos_banned_by_clean_allowed_by_paper(tiny_frame_dir: Path) -> None:
    """Upstream's min_length=1 becomes 0 with inputs_embeds, so an immediate EOS is possible there."""
    loaded = load_model(tiny_frame_dir)
    llm, processor = loaded.model.llm, loaded.processor
    stop = StopRule(tuple(processor.eos_ids), processor.hash3_id, processor.hash2_id, processor.hash1_id)
    eos = processor.eos_ids[0]
    embeds = torch.randn(
        2, 9, loaded.model.config.llm_hidden_size, generator=torch.Generator().manual_seed(1)
    )
    mask = torch.ones(2, 9, dtype=torch.long)

    def first_tokens(settings: DecodingSettings) -> list[list[int]]:
        return generate(llm, embeds, mask, stop, settings, pad_id=processor.pad_id)

    with torch.no_grad():
        llm.lm_head.bias = torch.nn.Parameter(torch.zeros(llm.lm_head.out_features))
        llm.lm_head.bias[eos] = 1e4  # EOS is the argmax at every step
        try:
            banned = first_tokens(DecodingSettings(max_new_tokens=4, ban_first_step_eos=True))
            allowed = first_tokens(DecodingSettings(max_new_tokens=4, ban_first_step_eos=False))
            sampled = first_tokens(DecodingSettings(mode="paper", max_new_tokens=4, ban_first_step_eos=False))
        finally:
            llm.lm_head.bias = None
    assert all(row[0] != eos and row[1:] == [eos] for row in banned)
    assert allowed == [[eos], [eos]] and sampled == [[eos], [eos]]
    assert processor.decode_response(allowed[0]) == ""  # upstream's empty answer
    with pytest.raises(ModelError, match="resolved"):
        first_tokens(DecodingSettings(max_new_tokens=4))  # the rule must be chosen


def test_engine_decoding_defaults_follow_the_fidelity(tiny_frame_dir: Path) -> None:
    clean = AffectGPTEngine(load_model(tiny_frame_dir))
    paper = AffectGPTEngine(load_model(tiny_frame_dir, fidelity="paper"))
    budget = clean.model.config.generation.max_new_tokens
    assert clean.decoding_settings() == DecodingSettings(max_new_tokens=budget, ban_first_step_eos=True)
    assert paper.decoding_settings() == DecodingSettings(
        mode="paper", max_new_tokens=budget, ban_first_step_eos=False
    )
    assert paper.decoding_settings().describe()["first_step_eos"] == "allowed"
    assert "first_step_eos" not in clean.decoding_settings().describe()  # clean records keep their form
    explicit = DecodingSettings(max_new_tokens=7, ban_first_step_eos=True)
    assert paper.decoding_settings(explicit) == explicit  # what the caller chose wins


# ---------------------------------------------------------------------- generation budget: one default
def test_generation_budget_comes_from_the_model_config(tiny_frame_dir: Path) -> None:
    from ovmer.media.inputs import ModelInputs

    loaded = load_model(tiny_frame_dir)
    loaded.model.config = dataclasses.replace(
        loaded.model.config,
        generation=dataclasses.replace(loaded.model.config.generation, max_new_tokens=3),
    )
    engine = AffectGPTEngine(loaded)
    assert DecodingSettings().max_new_tokens is None
    assert engine.decoding_settings(DecodingSettings()).max_new_tokens == 3
    rng = np.random.default_rng(0)
    inputs = ModelInputs(
        audio=rng.standard_normal((8, 32000)).astype(np.float32),
        frames=rng.integers(0, 255, (8, 224, 224, 3), dtype=np.uint8),
    )
    word = loaded.processor.tokenize_prompt("happy")[0]  # not a stop token: only the budget ends
    llm = loaded.model.llm
    with torch.no_grad():
        llm.lm_head.bias = torch.nn.Parameter(torch.zeros(llm.lm_head.out_features))
        llm.lm_head.bias[word] = 1e4
        try:
            [response] = engine.respond([inputs], ["Fine."], "ovlabels")
            [longer] = engine.respond([inputs], ["Fine."], "ovlabels", DecodingSettings(max_new_tokens=5))
        finally:
            llm.lm_head.bias = None
    assert response.token_ids == [word] * 3 and longer.token_ids == [word] * 5


# ---------------------------------------------------------------------- prompts over 800 tokens
@pytest.fixture(scope="module")
def tiny_parts() -> tuple[Any, Any]:
    tokenizer = tiny_tokenizer()
    return tokenizer, tiny_config("frame", tokenizer)


def _prompt_of_length(processor: AffectGPTProcessor, low: int, high: int) -> tuple[str, list[int]]:
    """A frame-model prompt whose token count lies in (low, high]."""
    tokenizer = processor.tokenizer
    for words in range(0, 4000, 1):
        prompt = processor.prompt("ok " * words, "ovlabels")
        ids = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        if low < len(ids) <= high:
            return prompt, ids
    raise AssertionError(f"no prompt with {low} < tokens <= {high}")


def test_long_prompt_refused_by_clean_cut_to_last_800_by_paper(
    tiny_parts: tuple[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    tokenizer, config = tiny_parts
    clean = AffectGPTProcessor(tokenizer, config)
    paper = AffectGPTProcessor(tokenizer, config, prompt_overflow="keep_last")
    limit = config.generation.max_prompt_tokens
    assert limit == 800
    ids = clean.tokenize_prompt(clean.prompt("", "ovlabels"))
    first_placeholder = min(ids.index(i) for i in clean.placeholder_ids.values() if i in ids)
    assert first_placeholder > 0
    # Just over the limit: the cut drops only text before the first placeholder.
    prompt, ids = _prompt_of_length(clean, limit, limit + first_placeholder)
    with pytest.raises(ModelError, match=f"more than the {limit}"):
        clean.tokenize_prompt(prompt)
    with caplog.at_level(logging.WARNING, logger="ovmer.models.processing_affectgpt"):
        kept = paper.tokenize_prompt(prompt)
    assert kept == ids[-limit:] and len(kept) == limit and kept != ids
    assert f"has {len(ids)} tokens" in caplog.text and f"last {limit}" in caplog.text
    # Far over: the cut reaches the placeholders, which upstream's placeholder check refuses too.
    prompt, ids = _prompt_of_length(clean, limit + 200, limit + 400)
    for processor in (clean, paper):
        with pytest.raises(ModelError, match=f"{len(ids)} tokens"):
            processor.tokenize_prompt(prompt)
    with pytest.raises(ModelError, match="placeholder"):
        paper.tokenize_prompt(prompt)
    short = clean.prompt("Fine.", "ovlabels")
    assert paper.tokenize_prompt(short) == clean.tokenize_prompt(short)  # no cut, no difference


def test_paper_engine_answers_a_prompt_cut_to_its_last_800(tiny_frame_dir: Path) -> None:
    from ovmer.media.inputs import ModelInputs

    clean = AffectGPTEngine(load_model(tiny_frame_dir))
    paper = AffectGPTEngine(load_model(tiny_frame_dir, fidelity="paper"))
    limit = clean.model.config.generation.max_prompt_tokens
    prompt, _ = _prompt_of_length(clean.processor, limit, limit + 3)
    subtitle = prompt.split("<Subtitle>")[1].split("</Subtitle>")[0]
    rng = np.random.default_rng(0)
    inputs = ModelInputs(
        audio=rng.standard_normal((8, 32000)).astype(np.float32),
        frames=rng.integers(0, 255, (8, 224, 224, 3), dtype=np.uint8),
    )
    embeds, mask = paper.prompt_embeddings([inputs], [subtitle], "ovlabels")
    assert embeds.shape[1] == limit and mask.shape == (1, limit)
    with pytest.raises(ModelError, match="more than the"):
        clean.prompt_embeddings([inputs], [subtitle], "ovlabels")


def test_fidelity_is_hashable_and_frozen() -> None:
    assert len({CLEAN, PAPER, Fidelity()}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        PAPER.decoding = "greedy"  # type: ignore[misc]
