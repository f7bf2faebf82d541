"""ovmer: open-vocabulary multimodal emotion recognition.

The public Python API and the ``ovmer`` command line share one code path: every command in
``ovmer.cli`` is a thin wrapper over a function importable from here or from a sub-package.

Scoring (no torch needed)::

    import ovmer
    maps = ovmer.load_wheel_maps()                  # emotion-wheel tables, verified by SHA-256
    result = ovmer.score_file("mer2023", gt="label-6way.npz", pred="ckpt-openset.npz", maps=maps)
"""

from __future__ import annotations

from ovmer._version import __version__
from ovmer.assets import load_wheel_maps
from ovmer.labels.parse import string_to_list
from ovmer.scoring import score_file, score_predictions

__all__ = [
    "__version__",
    "load_wheel_maps",
    "score_file",
    "score_predictions",
    "string_to_list",
]
