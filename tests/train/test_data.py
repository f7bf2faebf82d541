from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from ovmer.models.processing_affectgpt import AffectGPTProcessor
from ovmer.models.tiny import tiny_config, tiny_tokenizer
from ovmer.train.data import (
    IGNORE_INDEX,
    HybridTaskSampler,
    TrainCollator,
    TrainDataset,
    TrainSample,
    encode_pair,
    filter_by_length,
    read_train_samples,
)
from ovmer.train.synthetic import write_synthetic_dataset


@pytest.fixture(scope="module")
def processor() -> AffectGPTProcessor:
    tok = tiny_tokenizer()
    return AffectGPTProcessor(tok, tiny_config("face", tok))


def _sample(**kw: object) -> TrainSample:
    base = dict(name="s1", subtitle="Okay.", ovlabels=["happy", "sad"], description="The character smiles.")
    base.update(kw)
    return TrainSample(**base)  # type: ignore[arg-type]


def test_answers_follow_the_spec() -> None:
    assert _sample().answer("ovlabels") == "The character's emotional state is happy, sad."
    assert _sample(ovlabels=[]).answer("ovlabels") == "The character's emotional state is neutral."
    assert _sample().answer("description") == "The character smiles."


def test_prompt_and_target_are_tokenised_separately(processor: AffectGPTProcessor) -> None:
    enc = encode_pair(processor, _sample(), "ovlabels")
    tok = processor.tokenizer
    prompt = processor.prompt("Okay.", "ovlabels")
    assert prompt.endswith("###Assistant: ")
    assert enc.prompt_ids == tok(prompt, add_special_tokens=False)["input_ids"]
    target = "The character's emotional state is happy, sad.###"
    assert enc.target_ids == tok(target, add_special_tokens=False)["input_ids"]


def test_only_the_answer_and_final_eos_carry_labels(processor: AffectGPTProcessor) -> None:
    collator = TrainCollator(processor)
    short = {"name": "a", "task": "ovlabels", "text": encode_pair(processor, _sample(), "ovlabels")}
    long = {"name": "b", "task": "description", "text": encode_pair(processor, _sample(), "description")}
    for item in (short, long):
        item["visual"] = torch.zeros(8, 224, 224, 3, dtype=torch.uint8).numpy()
        item["audio"] = torch.randn(8, 32000).numpy()
    batch = collator([short, long])
    bos, eos = collator.bos_id, collator.eos_id
    for row, item in enumerate((short, long)):
        p, t = item["text"].prompt_ids, item["text"].target_ids
        n = 1 + len(p) + len(t) + 1
        ids, labels = batch["input_ids"][row], batch["labels"][row]
        assert ids[:n].tolist() == [bos, *p, *t, eos]
        assert labels[: 1 + len(p)].eq(IGNORE_INDEX).all()
        assert labels[1 + len(p) : n].tolist() == [*t, eos]
        assert labels[n:].eq(IGNORE_INDEX).all() and ids[n:].eq(processor.pad_id).all()
        # pad = eos, so the final <|im_end|> is masked as input (docs/training.md, 'Upstream sequence rules')
        assert batch["attention_mask"][row].sum() == n - 1
    assert batch["pixel_values"].shape == (2, 8, 3, 224, 224)
    assert batch["audio_values"].shape == (2, 8, 32000)


def test_sampler_is_deterministic_and_resumes_from_the_step_alone() -> None:
    full = list(HybridTaskSampler(10, ["description", "ovlabels"], 3, seed=7).batches(0, 8))
    tail = list(HybridTaskSampler(10, ["description", "ovlabels"], 3, seed=7).batches(5, 8))
    assert full[5:] == tail
    first_pass = [i for batch in full[:3] for i, _ in batch]
    assert len(set(first_pass)) == 9  # a pass is a permutation; drop_last leaves one sample out
    tasks = Counter(t for batch in full for _, t in batch)
    assert set(tasks) == {"description", "ovlabels"}
    assert full != list(HybridTaskSampler(10, ["description", "ovlabels"], 3, seed=8).batches(0, 8))


def test_two_processes_see_what_one_process_with_accumulation_sees() -> None:
    one = list(HybridTaskSampler(12, ["ovlabels"], 2, world_size=1, accumulation=2).batches(0, 4))
    rank0 = list(HybridTaskSampler(12, ["ovlabels"], 2, world_size=2, rank=0).batches(0, 4))
    rank1 = list(HybridTaskSampler(12, ["ovlabels"], 2, world_size=2, rank=1).batches(0, 4))
    assert one[0::2] == rank0 and one[1::2] == rank1
    assert not {i for b in rank0 for i, _ in b[:1]} & {i for b in rank1[:1] for i, _ in b}


def test_mer2025_release_through_the_registry(tmp_path: Path) -> None:
    """OV-MERD in its official layout (ROOT/mer2025-dataset/…), read by the registry.

    docs/training.md, 'Data'.
    """
    folder = tmp_path / "mer2025-dataset"
    folder.mkdir()
    (folder / "track2_train_ovmerd.csv").write_text('name,openset\nv1,"[happy, excited]"\nv2,[]\nv3,[sad]\n')
    (folder / "track3_train_ovmerd.csv").write_text("name,reason\nv1,Smiles.\nv2,Calm voice.\n")
    (folder / "subtitle_chieng.csv").write_text("name,chinese,english\nv1,你好,Hello\nv2,好,\nv3,不,No\n")
    samples = read_train_samples(tmp_path, "ovmerd")
    assert [s.name for s in samples] == ["v1", "v2", "v3"]
    assert samples[0].ovlabels == ["happy", "excited"] and samples[0].subtitle == "Hello"
    assert samples[1].answer("ovlabels").endswith("neutral.") and samples[1].subtitle == ""
    assert samples[2].description is None
    assert samples[0].faces == folder / "openface_face" / "v1" / "v1.npy"
    assert samples[0].audio == folder / "audio" / "v1.wav" and samples[0].video == folder / "video" / "v1.mp4"
    tok = tiny_tokenizer()
    kept, dropped = filter_by_length(
        samples, AffectGPTProcessor(tok, tiny_config("face", tok)), ["description", "ovlabels"], 1024
    )
    assert [s.name for s in kept] == ["v1", "v2"]
    assert dropped[0]["name"] == "v3" and "description" in dropped[0]["reason"]
    kept, dropped = filter_by_length(
        samples[:1], AffectGPTProcessor(tok, tiny_config("face", tok)), ["ovlabels"], 50
    )
    assert not kept and "longer than 50" in dropped[0]["reason"]


def test_discrete_and_valence_labels(tmp_path: Path) -> None:
    """A discrete emotion becomes a one-word OV target; a valence gives none (description only)."""
    from ovmer.data.registry import Sample
    from ovmer.train.data import train_sample

    common = dict(video=None, audio=None, face=None, subtitle=None, split="test")
    discrete = train_sample(Sample(name="a", label="worried", **common))  # type: ignore[arg-type]
    valence = train_sample(Sample(name="b", label=-1.4, description="Sighs.", **common))  # type: ignore[arg-type]
    assert discrete.ovlabels == ["worried"] and not discrete.has("description") and discrete.subtitle == ""
    assert valence.ovlabels is None and valence.has("description") and not valence.has("ovlabels")


def test_both_synthetic_layouts_give_the_same_samples(tmp_path: Path) -> None:
    manifest = write_synthetic_dataset(tmp_path / "m", num_samples=5, seed=3)
    release = write_synthetic_dataset(tmp_path / "r", num_samples=5, seed=3, layout="mer2025")
    from_manifest = read_train_samples(None, f"csv:{manifest}")
    from_release = read_train_samples(release, "mercaptionplus")
    texts = [(s.name, s.subtitle, s.answer("ovlabels"), s.description) for s in from_manifest]
    assert texts == [(s.name, s.subtitle, s.answer("ovlabels"), s.description) for s in from_release]
    # an empty OV list becomes neutral (docs/training.md, 'Data'), in either layout
    assert texts[4][2].endswith("is neutral.")
    for a, b in zip(from_manifest, from_release, strict=True):
        assert a.faces is not None and b.faces is not None and a.faces.read_bytes() == b.faces.read_bytes()
        assert b.faces == release / "openface_face" / b.name / f"{b.name}.npy"


def test_a_bad_sample_is_reported_not_replaced(manifest: Path, processor: AffectGPTProcessor) -> None:
    samples = read_train_samples(None, f"csv:{manifest}")
    samples[1].faces = manifest.parent / "faces" / "missing.npy"
    dataset = TrainDataset(samples, processor)
    batch = TrainCollator(processor)([dataset[(0, "ovlabels")], dataset[(1, "description")]])
    assert batch["size"] == 1 and batch["names"] == [samples[0].name]
    assert batch["skipped"][0]["name"] == samples[1].name and "missing.npy" in batch["skipped"][0]["error"]


def test_synthetic_descriptions_can_be_made_benchmark_long(tmp_path: Path) -> None:
    import csv

    manifest = write_synthetic_dataset(tmp_path, num_samples=3, description_words=57)
    with manifest.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [len(r["description"].split()) for r in rows] == [57, 57, 57]
    assert rows[0]["description"] != rows[1]["description"]  # each starts with its own sentence
    with pytest.raises(ValueError, match="at least 1"):
        write_synthetic_dataset(tmp_path / "bad", num_samples=1, description_words=0)
