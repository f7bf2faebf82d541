"""The two scoring protocols (docs/scoring.md, 'Protocols').

* ``paper`` reproduces the published numbers: every checkpoint is scored and, per dataset, the best
  one *on the test set* is reported (ties → first file name, as ``numpy.argmax``). Input quirks behave
  as upstream (a missing prediction is an error).
* ``clean`` scores one checkpoint fixed in advance (by the user or on validation splits) for every
  dataset; a missing prediction counts as an empty one and is reported.
"""

from __future__ import annotations

import enum


class Protocol(str, enum.Enum):
    PAPER = "paper"
    CLEAN = "clean"

    @property
    def label(self) -> str:
        """The label every output carries so the two are never mixed up."""
        if self is Protocol.PAPER:
            return "paper protocol: best-of-N checkpoints selected on the test set, per dataset"
        return "clean protocol: fixed checkpoint"
