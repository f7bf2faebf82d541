"""The offline clue engine (``ovmer describe VIDEO --engine clues``): facial, acoustic and lexical
cues from models shipped in PyPI packages, turned into a description and OV labels by rules."""

from ovmer.clues.engine import ClueResult, describe_with_clues

__all__ = ["ClueResult", "describe_with_clues"]
