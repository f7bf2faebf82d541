"""``ovmer annotate``: build a MER-Caption+-style corpus from unlabelled clips (docs/annotate.md).

- :mod:`ovmer.annotate.describe` — clue models + merge → ``clips.jsonl``;
- :mod:`ovmer.annotate.filter` — active speaker, description length, classifier vote → ``filter.jsonl``,
  ``labels.jsonl`` and the funnel;
- :mod:`ovmer.annotate.corpus` — ``track2_train_<name>.csv``, ``track3_train_<name>.csv``, a manifest
  the registry reads, and per-clip provenance.

The review decisions they respect live in :mod:`ovmer.results.review` (shared with ``ovmer serve``).
"""
