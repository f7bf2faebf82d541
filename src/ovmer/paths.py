"""Where ovmer keeps its cache (downloaded assets, derived tables, extraction caches).

``OVMER_CACHE_DIR`` overrides the platform's user cache directory (``~/.cache/ovmer`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def cache_dir() -> Path:
    """The root of ovmer's cache; created on demand by the code that writes into it."""
    override = os.environ.get("OVMER_CACHE_DIR")
    return Path(override).expanduser() if override else Path(platformdirs.user_cache_dir("ovmer"))
