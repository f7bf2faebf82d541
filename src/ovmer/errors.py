"""Exceptions raised by ovmer.

Every error message names the file or sample at fault and says what to do about it, so the CLI can
print it as is (exit code 2) instead of a traceback.
"""

from __future__ import annotations


class OvmerError(Exception):
    """Base class of all errors ovmer raises on purpose."""


class AssetError(OvmerError):
    """An emotion-wheel asset is missing, corrupt or cannot be downloaded."""


class InputFormatError(OvmerError):
    """A ground-truth or prediction file cannot be read or has the wrong content."""


class PredictionCoverageError(InputFormatError):
    """Predictions are missing for ground-truth samples (paper protocol: fatal, as upstream)."""


class DatasetError(OvmerError):
    """A dataset id, folder or split is unknown or incomplete."""


class ModelError(OvmerError):
    """A model config, checkpoint or tokenizer is missing, inconsistent or does not match the model."""


class BaselineSpecError(ModelError):
    """A zero-shot baseline spec (``hf:…``, ``openai:…``) has an unknown option, a bad value, or asks
    for what the model cannot do (docs/baselines.md)."""


class CheckpointKeyError(ModelError):
    """A checkpoint's keys or shapes do not match the model.

    Loading is strict; see docs/model.md, 'Checkpoint files'.
    """


class TrainConfigError(OvmerError):
    """A training config file or override is unknown, mistyped or inconsistent."""


class TrainStateError(OvmerError):
    """A training checkpoint's state (``training_state.pt``, ``rng_rank<r>.pt``) cannot be read, lacks
    an entry, or holds more than tensors and plain data (it is loaded weights-only: docs/security.md)."""


class MediaError(OvmerError):
    """A video, audio or face file is missing, empty, corrupt or lacks the stream that is needed."""


class InputStageError(MediaError):
    """A sample's model inputs failed at one stage (``video``, ``faces``, ``audio``, ``subtitle``).

    ``stage`` says where (``prepare`` records it per sample); ``cause`` is the original error.
    """

    def __init__(self, stage: str, cause: Exception) -> None:
        super().__init__(str(cause))
        self.stage = stage
        self.cause = cause


class EnvironmentVariableError(OvmerError):
    """An environment variable ovmer reads (such as ``OVMER_OFFLINE``) holds a value it does not understand."""


class BackendError(OvmerError):
    """An extractor LLM backend could not produce a completion (bad spec, unreachable server, missing model)."""


class CacheMissError(BackendError):
    """The cache-only extractor backend was asked for a prompt that is not cached."""


class OutputPathError(OvmerError):
    """An output file or folder cannot be written: a folder where a file is wanted (or the reverse), a
    parent that is a file, or no permission. Raised before the work starts (docs/cli.md)."""


class AnnotationError(OvmerError):
    """An annotation corpus (``ovmer annotate``) is missing a file, holds a clip twice with different
    settings, or a review decision names an unknown clip, decision or label list (docs/annotate.md)."""


class ServeError(OvmerError):
    """A request to ``ovmer serve`` cannot be answered: the HTTP status, a stable machine-readable
    ``code`` and the message the client gets as ``{"error": {"code", "message"}}`` (docs/serve.md).
    ``retry_after`` (seconds) is sent as the ``Retry-After`` header (429 queue full)."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


class SampleFailedError(OvmerError):
    """A sample failed where it ran (a Ray worker); the message is already ``Type: message`` as
    ``errors.jsonl`` records it (:func:`ovmer.inference.runner.describe_failure`)."""


class ClusterError(OvmerError):
    """``--ray``: Ray is not installed (``pip install 'ovmer[ray]'``), the cluster cannot be reached or
    joined (address, auth token), or it lacks the resources a stage asks for (docs/scale.md)."""
