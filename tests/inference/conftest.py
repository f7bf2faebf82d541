"""Inference tests share the saved tiny models and the no-hub guard of the model tests."""

from tests.models.conftest import _no_hub, tiny_face_dir, tiny_frame_dir

__all__ = ["_no_hub", "tiny_face_dir", "tiny_frame_dir"]
