"""The seven emotion-wheel files: where they come from, how they are checked, and loading them.

Like ``whisper``'s model table, each asset has a pinned source and a SHA-256. Files come, in order of
preference, from ``--assets DIR`` / ``OVMER_ASSETS_DIR`` (checked the same way), from the user cache,
or from a download of the authors' repositories at pinned commits (docs/scoring.md, 'Emotion-wheel tables').
Nothing unverified is ever cached or used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovmer.atomic import write_bytes_atomic, write_json_atomic
from ovmer.errors import AssetError
from ovmer.hub import offline_mode
from ovmer.labels.wheel import WheelMaps, build_wheel_maps
from ovmer.paths import cache_dir

MERTOOLS_COMMIT = "89120b780ab18b28349f0e37dcc12b8cc253cb02"
AFFECTGPT_COMMIT = "d961cab04ab2903fefb22a641331e1242949b15d"

#: Download locations tried in order; the files are byte-identical in both (docs/scoring.md,
#: 'Emotion-wheel tables').
DEFAULT_SOURCES: tuple[str, ...] = (
    f"https://raw.githubusercontent.com/zeroQiaoba/MERTools/{MERTOOLS_COMMIT}/MER2025/MER2025_Track23/emotion_wheel",
    f"https://raw.githubusercontent.com/zeroQiaoba/AffectGPT/{AFFECTGPT_COMMIT}/AffectGPT/emotion_wheel",
)

#: File name → SHA-256 of the pinned upstream version.
ASSET_SHA256: dict[str, str] = {
    "format.csv": "ba6de7d61db8e129d1d7ef8a2aae22a9e93a2c2e3e683e6f2735d04455f016f2",
    "synonym.xlsx": "23f81f9ab1d2418aaf96775304fb5dc52c62bb5d5ef652a97471d045fc9d2e29",
    "wheel1.xlsx": "e70485d354b82a7491ff24648273182a5f4f13f92c76e6b3e4f9033f5e6afcc1",
    "wheel2.xlsx": "acc001e076a8e60440361f58dd8c05ed900c4890c84bb7d8d1df93708a7d9c87",
    "wheel3.xlsx": "d62f30bf88c17c55876634cd088eacaef98278fc25457474364439872f9dbf83",
    "wheel4.xlsx": "660260561b7fe15550f3679a01e7c783608ce3403d4c28db0a88520f68d83aea",
    "wheel5.xlsx": "2dd4595b2cf8e7628ca06a416a8e38ac831614b244f23d1ae613dc34007649f1",
}

_HOW_TO_GET = (
    "Get the emotion-wheel files with `ovmer assets fetch` (needs access to raw.githubusercontent.com), "
    "or download the seven files (wheel1-5.xlsx, synonym.xlsx, format.csv) from "
    f"zeroQiaoba/AffectGPT at {AFFECTGPT_COMMIT[:7]}, folder AffectGPT/emotion_wheel/, into a directory "
    "and pass it with --assets DIR or OVMER_ASSETS_DIR."
)


@dataclass(frozen=True)
class AssetProblem:
    """One file that is missing or has the wrong checksum."""

    name: str
    problem: str


def default_asset_dir() -> Path:
    """The cache folder for the verified download."""
    return cache_dir() / "emotion_wheel" / AFFECTGPT_COMMIT[:12]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_assets(directory: Path) -> list[AssetProblem]:
    """Check every asset file in ``directory``; an empty list means all seven are present and intact."""
    problems = []
    for name, expected in ASSET_SHA256.items():
        path = Path(directory) / name
        if not path.is_file():
            problems.append(AssetProblem(name, "missing"))
            continue
        actual = sha256_file(path)
        if actual != expected:
            problems.append(AssetProblem(name, f"SHA-256 {actual} differs from the pinned {expected}"))
    return problems


def _sources_from_env() -> tuple[str, ...]:
    override = os.environ.get("OVMER_ASSETS_URL")
    return tuple(u.strip() for u in override.split(",") if u.strip()) if override else DEFAULT_SOURCES


def fetch_assets(
    destination: Path | None = None,
    sources: Sequence[str] | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download the seven files into ``destination`` (default: the cache), verifying each.

    Each file is tried from every source in turn; a file whose checksum is wrong is never written.
    Files already present and intact are not downloaded again.

    Raises:
        AssetError: if a file cannot be obtained intact from any source.
    """
    destination = Path(destination) if destination is not None else default_asset_dir()
    sources = tuple(sources) if sources is not None else _sources_from_env()
    for name, expected in ASSET_SHA256.items():
        target = destination / name
        if target.is_file() and sha256_file(target) == expected:
            continue
        if offline_mode():  # docs/model.md, "Offline mode": nothing is downloaded, not even from --url
            problem = "missing" if not target.is_file() else "its SHA-256 differs from the pinned value"
            raise AssetError(
                f"{target}: {problem}, and OVMER_OFFLINE is on so nothing is downloaded "
                f"(unset OVMER_OFFLINE to download, or copy the files in by hand). {_HOW_TO_GET}"
            )
        failures = []
        for base in sources:
            url = f"{base.rstrip('/')}/{name}"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    data = response.read()
            except (urllib.error.URLError, OSError, ValueError) as exc:
                failures.append(f"{url}: {exc}")
                continue
            actual = hashlib.sha256(data).hexdigest()
            if actual != expected:
                failures.append(f"{url}: checksum mismatch (got {actual}, expected {expected})")
                continue
            write_bytes_atomic(target, data)
            break
        else:
            raise AssetError(f"could not download {name}:\n  " + "\n  ".join(failures) + f"\n{_HOW_TO_GET}")
    return destination


def resolve_asset_dir(assets: Path | str | None = None, *, download: bool | None = None) -> Path:
    """Find a directory with all seven verified files.

    Order: ``assets`` argument, ``OVMER_ASSETS_DIR``, the cache, then a download into the cache
    (unless ``download`` is False or ``OVMER_OFFLINE`` is on: :func:`ovmer.hub.offline_mode`).
    """
    explicit = assets if assets is not None else os.environ.get("OVMER_ASSETS_DIR")
    if explicit:
        directory = Path(explicit).expanduser()
        problems = verify_assets(directory)
        if problems:
            details = "; ".join(f"{p.name}: {p.problem}" for p in problems)
            raise AssetError(f"emotion-wheel directory {directory} is not usable ({details}). {_HOW_TO_GET}")
        return directory
    cached = default_asset_dir()
    problems = verify_assets(cached)
    if not problems:
        return cached
    if download is None:
        download = not offline_mode()
    if not download:
        if all(p.problem == "missing" for p in problems):
            state = "are not in the cache"
        else:  # a damaged cache is not an empty one: say which file and how
            state = (
                "in the cache are not usable (" + "; ".join(f"{p.name}: {p.problem}" for p in problems) + ")"
            )
        raise AssetError(f"{cached}: the emotion-wheel files {state} and downloads are off. {_HOW_TO_GET}")
    return fetch_assets(cached)


def _maps_to_json(maps: WheelMaps) -> dict[str, object]:
    return {
        "wheels": {str(k): v for k, v in maps.wheels.items()},
        "raw_mapping": maps.raw_mapping,
        "format_mapping": maps.format_mapping,
        "clusters": {f"{k}-{lvl}": v for (k, lvl), v in maps.clusters.items()},
    }


def _maps_from_json(data: dict[str, Any]) -> WheelMaps:
    clusters = {}
    for key, value in data["clusters"].items():
        wheel, level = key.split("-")
        clusters[(int(wheel), int(level))] = value
    return WheelMaps(
        wheels={int(k): v for k, v in data["wheels"].items()},
        raw_mapping=data["raw_mapping"],
        format_mapping=data["format_mapping"],
        clusters=clusters,
    )


_TABLES_FORMAT = 1  # bump when the derived-table JSON layout changes


def load_wheel_maps(assets: Path | str | None = None, *, download: bool | None = None) -> WheelMaps:
    """Load every emotion-wheel map, building it from the verified files.

    Reading the spreadsheets takes about a second, so the derived tables are cached as JSON keyed by
    the files' checksums; later loads take a few milliseconds.
    """
    directory = resolve_asset_dir(assets, download=download)
    key = hashlib.sha256("".join(sorted(ASSET_SHA256.values())).encode()).hexdigest()[:16]
    table_path = cache_dir() / "tables" / f"wheel-maps-v{_TABLES_FORMAT}-{key}.json"
    if table_path.is_file():
        try:
            return _maps_from_json(json.loads(table_path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, OSError):
            pass  # a damaged cache entry is rebuilt below
    maps = build_wheel_maps(directory)
    with contextlib.suppress(OSError):  # a read-only cache only costs speed
        write_json_atomic(table_path, _maps_to_json(maps))
    return maps
