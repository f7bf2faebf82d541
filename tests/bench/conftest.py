"""``bench`` runs AffectGPT on the saved tiny face model of the model tests."""

from tests.models.conftest import tiny_face_dir

__all__ = ["tiny_face_dir"]
