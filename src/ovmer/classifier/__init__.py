"""Voting classifiers for ``ovmer annotate filter``: MERBench-style attention fusion over utterance features.

Why: MER-Caption+ keeps a clip only when the labels extracted from its description agree with a
majority vote of emotion and sentiment classifiers trained on human-labelled data (docs/classifier.md).
This package trains those voters (``ovmer classifier train``) and writes their votes
(``ovmer classifier predict``).

Modules, each with one job:

* :mod:`~ovmer.classifier.features` — utterance-level features from ``ovmer features extract`` caches
  (``features/<name>.safetensors``: ``visual`` (T, 768), ``audio`` (K, 1024), optional ``text`` (D,)),
  averaged over time → one vector per modality; numpy only.
* :mod:`~ovmer.classifier.labels` — training labels from a registered dataset's label file or a CSV
  ``name,emotion[,sentiment|valence]``; numpy only.
* :mod:`~ovmer.classifier.model` — the fusion network, its config and its safetensors + JSON files.
* :mod:`~ovmer.classifier.training` — K members (seeds × datasets), each with its own held-out split.
* :mod:`~ovmer.classifier.predict` — every member over a feature folder → one votes CSV per member.
* :mod:`~ovmer.classifier.votes` — **the file seam the filter reads**; no torch.

The votes file (``<out>/<member>.csv``, UTF-8, one row per clip, written atomically)::

    name,emotion,sentiment,emotion_prob,sentiment_prob
    sample_00000001,happy,positive,0.912345,0.801234
    sample_00000002,,negative,,0.650000

``emotion`` is one of the member's training labels (an English word as in the dataset's label set),
``sentiment`` one of ``negative | neutral | positive``; each ``*_prob`` is the softmax probability of
the predicted class (6 decimals). An **empty cell means the member abstains** on that task: a member
trained on a sentiment-only dataset (CMU-MOSI, CH-SIMS) has no emotion head, one trained on MELD or
IEMOCAP (no valence) has no sentiment head. Read it with :func:`ovmer.classifier.votes.read_votes`.

torch is imported only by ``model``, ``training`` and ``predict`` (the ``[model]`` extra).
"""

from __future__ import annotations

from ovmer.classifier.votes import SENTIMENT_CLASSES, VOTES_HEADER, Vote, read_votes, write_votes

__all__ = ["SENTIMENT_CLASSES", "VOTES_HEADER", "Vote", "read_votes", "write_votes"]
