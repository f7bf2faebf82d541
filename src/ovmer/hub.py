"""Offline mode, Hugging Face Hub downloads and the transformers ``dtype`` shim, in one place.

Why one module: every part of ovmer must read ``OVMER_OFFLINE`` the same way and reach the Hub the
same way (docs/model.md, "Offline mode"), and the model package must not import its own loader just to
ask whether downloads are allowed (that made ``ovmer.models`` import itself in a circle). Cheap to
import: ``huggingface_hub``, ``transformers`` and ``torch`` are imported inside the functions that use
them, so ``ovmer.assets`` (core install, no torch) reads offline mode from here too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ovmer.errors import EnvironmentVariableError

#: Values that switch an on/off environment variable on, compared case-insensitively after stripping
#: blanks. The same set huggingface_hub accepts for ``HF_HUB_OFFLINE`` (``constants._is_true``).
TRUE_VALUES = ("1", "true", "yes", "on")
#: Values that leave it off; an unset variable is off too.
FALSE_VALUES = ("", "0", "false", "no", "off")


def env_flag(name: str) -> bool:
    """Read the on/off environment variable ``name``: the one parser of ``OVMER_OFFLINE``.

    On: ``1``, ``true``, ``yes``, ``on``. Off: unset, empty, ``0``, ``false``, ``no``, ``off``. Case and
    surrounding blanks do not matter.

    Raises:
        EnvironmentVariableError: any other value, so that ``OVMER_OFFLINE=y`` does not silently
        allow downloads.
    """
    raw = os.environ.get(name)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise EnvironmentVariableError(
        f"{name}={raw!r} is neither on nor off: set it to one of {', '.join(TRUE_VALUES)} "
        f"(on) or {', '.join(v for v in FALSE_VALUES if v)} (off), or unset it"
    )


def offline_mode() -> bool:
    """``OVMER_OFFLINE`` is on: ovmer downloads nothing (emotion-wheel files, Hugging Face files)."""
    return env_flag("OVMER_OFFLINE")


def hub_offline_mode() -> bool:
    """Hugging Face files come from the local cache only: ``OVMER_OFFLINE`` or ``HF_HUB_OFFLINE`` is on.

    ``HF_HUB_OFFLINE`` is huggingface_hub's own switch; it is read here too so that ovmer's error
    messages say the download was refused on purpose. It does not stop the emotion-wheel download,
    which is not on the Hub.
    """
    return offline_mode() or env_flag("HF_HUB_OFFLINE")


def hub_download(repo_id: str, filename: str, revision: str | None = None) -> Path:
    """One file of a Hub repo, through the Hugging Face cache (cache only in offline mode).

    Errors are huggingface_hub's own; callers say what the file was for.
    """
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(repo_id, filename, revision=revision, local_files_only=hub_offline_mode()))


def hub_snapshot(repo_id: str, revision: str | None = None) -> Path:
    """A whole Hub repo at ``revision`` (branch, tag or commit), through the cache (cache only offline)."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id, revision=revision, local_files_only=hub_offline_mode()))


def hub_from_pretrained(loader: Any, repo_id: str, revision: str | None = None, **kwargs: Any) -> Any:
    """``loader.from_pretrained`` (a transformers class) at ``revision``, from the cache only offline.

    Errors are transformers' own (usually ``OSError``); callers say which model it was.
    """
    return loader.from_pretrained(repo_id, revision=revision, local_files_only=hub_offline_mode(), **kwargs)


def dtype_kwarg(dtype: Any) -> dict[str, Any]:
    """The ``from_pretrained`` keyword for the weights' dtype (a ``torch.dtype`` or ``"auto"``).

    transformers renamed ``torch_dtype=`` to ``dtype=`` in 4.56 and deprecates the old name in 5.x.
    """
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}
