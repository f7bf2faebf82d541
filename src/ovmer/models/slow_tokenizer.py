"""The slow (pure-Python) byte-level BPE tokenizer that upstream runs, rebuilt from a fast one.

Why: upstream loads Qwen2.5's tokenizer with ``use_fast=False``, i.e. transformers 4.x's pure-Python
``Qwen2Tokenizer``. transformers 5 has no slow Qwen2 tokenizer any more (it ignores ``use_fast``), so
the paper setting (``ovmer.models.fidelity``) uses :class:`SlowBPETokenizer`, built by
:func:`slow_tokenizer_from_fast` from the fast tokenizer's own vocabulary, merges, pre-tokenisation
pattern and added tokens. It follows the slow code path step by step: NFC normalisation of the
whole text (when the tokenizer normalises), a split on added tokens, regex pre-tokenisation, the
byte-to-character map, rank-ordered BPE merges, and decoding that joins added tokens with no spaces
between them (``spaces_between_special_tokens=False`` in upstream's ``Qwen2Tokenizer``).
"""

from __future__ import annotations

import itertools
import json
import os
import unicodedata
from typing import Any

import regex
from transformers import PreTrainedTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

from ovmer.errors import ModelError

#: GPT-2's pre-tokenisation pattern: what a ``ByteLevel(use_regex=True)`` pre-tokenizer splits on.
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


class SlowBPETokenizer(PreTrainedTokenizer):
    """Byte-level BPE in Python (``is_fast`` is False). Build it with :func:`slow_tokenizer_from_fast`."""

    def __init__(
        self,
        vocab: dict[str, int],
        merges: list[tuple[str, str]],
        pattern: str,
        normalize_nfc: bool,
        **kwargs: Any,
    ) -> None:
        # Set before the base __init__, which looks the vocabulary up while registering special tokens.
        self.encoder = dict(vocab)
        self.decoder = {index: token for token, index in self.encoder.items()}
        self.merges = list(merges)
        self.bpe_ranks = {pair: rank for rank, pair in enumerate(self.merges)}
        self.pattern = pattern
        self.normalize_nfc = normalize_nfc
        self._splitter = regex.compile(pattern)
        self._byte_encoder = bytes_to_unicode()  # GPT-2's reversible byte -> character map
        self._byte_decoder = {char: byte for byte, char in self._byte_encoder.items()}
        self._bpe_cache: dict[str, list[str]] = {}
        kwargs.setdefault("model_input_names", ["input_ids", "attention_mask"])  # no token_type_ids
        kwargs.setdefault("clean_up_tokenization_spaces", False)
        kwargs.setdefault("split_special_tokens", False)
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ vocabulary
    @property
    def vocab_size(self) -> int:
        return len(self.encoder)

    def get_vocab(self) -> dict[str, int]:
        return dict(self.encoder, **self.added_tokens_encoder)

    # ------------------------------------------------------------------ encoding
    def prepare_for_tokenization(
        self, text: str, is_split_into_words: bool = False, **kwargs: Any
    ) -> tuple[str, dict[str, Any]]:
        """NFC first, over the whole text (upstream's ``Qwen2Tokenizer`` does it before the added-token split)."""
        return (unicodedata.normalize("NFC", text) if self.normalize_nfc else text), kwargs

    def _tokenize(self, text: str, **kwargs: Any) -> list[str]:
        """Text without added tokens -> BPE symbols: regex pieces, each mapped byte by byte, then merged."""
        symbols: list[str] = []
        for piece in self._splitter.findall(text):
            mapped = "".join(self._byte_encoder[byte] for byte in piece.encode("utf-8"))
            symbols.extend(self._bpe(mapped))
        return symbols

    def _bpe(self, word: str) -> list[str]:
        """Merge the lowest-ranked adjacent pair everywhere (left to right) until no ranked pair is left."""
        cached = self._bpe_cache.get(word)
        if cached is not None:
            return cached
        parts = list(word)
        while len(parts) > 1:
            ranked = [
                (self.bpe_ranks[pair], pair) for pair in itertools.pairwise(parts) if pair in self.bpe_ranks
            ]
            if not ranked:
                break
            first, second = min(ranked)[1]
            merged: list[str] = []
            i = 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == first and parts[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self._bpe_cache[word] = parts
        return parts

    def _convert_token_to_id(self, token: str) -> int:
        if token in self.encoder:
            return self.encoder[token]
        if self.unk_token is not None and self.unk_token in self.encoder:
            return self.encoder[self.unk_token]
        raise ModelError(
            f"the symbol {token!r} is not in the slow tokenizer's vocabulary and there is no unk token"
        )

    # ------------------------------------------------------------------ decoding
    def _convert_id_to_token(self, index: int) -> str:
        return self.decoder[index]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        data = bytearray(self._byte_decoder[char] for char in "".join(tokens))
        return data.decode("utf-8", errors="replace")

    def _decode(
        self,
        token_ids: int | list[int],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        **kwargs: Any,
    ) -> str:
        """BPE runs are byte-decoded; added tokens are inserted as written, with no spaces around them."""
        ids = [token_ids] if isinstance(token_ids, int) else [int(i) for i in token_ids]
        skipped = set(self.all_special_ids) if skip_special_tokens else set()
        added = self.added_tokens_decoder
        pieces: list[str] = []
        run: list[str] = []
        for index in ids:
            if index in skipped:
                continue
            if index in added:
                if run:
                    pieces.append(self.convert_tokens_to_string(run))
                    run = []
                pieces.append(added[index].content)
            else:
                run.append(self._convert_id_to_token(index))
        if run:
            pieces.append(self.convert_tokens_to_string(run))
        return "".join(pieces)

    # ------------------------------------------------------------------ files
    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        """``vocab.json`` and ``merges.txt``, the files a slow byte-level BPE tokenizer reads."""
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        vocab_file = os.path.join(save_directory, f"{prefix}vocab.json")
        merges_file = os.path.join(save_directory, f"{prefix}merges.txt")
        with open(vocab_file, "w", encoding="utf-8") as handle:
            json.dump(self.encoder, handle, ensure_ascii=False)
        with open(merges_file, "w", encoding="utf-8") as handle:
            handle.write("#version: 0.2\n")
            handle.writelines(f"{a} {b}\n" for a, b in self.merges)
        return vocab_file, merges_file


def slow_tokenizer_from_fast(fast: Any) -> SlowBPETokenizer:
    """The slow twin of a fast byte-level BPE tokenizer: same vocabulary, merges, pattern, added tokens.

    Supported pre-tokenizers: Qwen2's (a regex ``Split`` followed by ``ByteLevel(use_regex=False)``)
    and GPT-2's (``ByteLevel(use_regex=True)``); normalisers: none or NFC. Anything else is refused,
    since the slow path would then not be the one upstream runs.
    """
    backend = getattr(fast, "backend_tokenizer", None)
    if backend is None:
        raise ModelError(f"{type(fast).__name__} is not a fast tokenizer; there is nothing to rebuild")
    spec = json.loads(backend.to_str())
    model = spec.get("model") or {}
    if model.get("type") != "BPE":
        raise ModelError(
            f"a slow tokenizer can be rebuilt only from a BPE tokenizer, not {model.get('type')!r}"
        )
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else (m[0], m[1]) for m in model["merges"]]
    specials = {
        attr: str(getattr(fast, attr))
        for attr in ("bos_token", "eos_token", "unk_token", "pad_token")
        if getattr(fast, attr, None) is not None
    }
    return SlowBPETokenizer(
        vocab=model["vocab"],
        merges=merges,  # type: ignore[arg-type]
        pattern=_pretokenizer_pattern(spec.get("pre_tokenizer")),
        normalize_nfc=_normalizes_nfc(spec.get("normalizer")),
        added_tokens_decoder=dict(fast.added_tokens_decoder),
        **specials,
    )


def _pretokenizer_pattern(pre: dict[str, Any] | None) -> str:
    pre = pre or {}
    steps: list[dict[str, Any]] = pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]
    kinds = [step.get("type") for step in steps]
    if kinds == ["ByteLevel"] and steps[0].get("use_regex", True) and not steps[0].get("add_prefix_space"):
        return GPT2_PATTERN
    if (
        kinds == ["Split", "ByteLevel"]
        and "Regex" in steps[0].get("pattern", {})
        and steps[0].get("behavior") == "Isolated"
        and not steps[0].get("invert")
        and not steps[1].get("use_regex", True)
        and not steps[1].get("add_prefix_space")
    ):
        return str(steps[0]["pattern"]["Regex"])
    raise ModelError(
        f"no slow tokenizer for the pre-tokenizer {kinds}: only Qwen2's and GPT-2's byte-level ones"
    )


def _normalizes_nfc(normalizer: dict[str, Any] | None) -> bool:
    if normalizer is None:
        return False
    if normalizer.get("type") == "NFC":
        return True
    raise ModelError(f"no slow tokenizer for the normaliser {normalizer.get('type')!r}: only none or NFC")
