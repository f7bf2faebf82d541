"""Label extraction through Ray actors gives the outcomes, order and metadata of the extractor itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovmer.assets import load_wheel_maps
from ovmer.cluster import ray_connection
from ovmer.cluster.extract import ExtractorRecipe, RayExtractor, extractor_for_cluster
from ovmer.llm.lexicon import LexiconExtractor
from tests.cluster.local_cluster import LocalRayCluster


def test_only_in_process_llms_go_to_the_cluster(wheel_dir: Path) -> None:
    assert extractor_for_cluster("lexicon", assets=wheel_dir) is None
    assert extractor_for_cluster("openai:http://127.0.0.1:1/v1#m") is None
    assert isinstance(extractor_for_cluster("hf:Qwen/Qwen2.5-7B-Instruct"), RayExtractor)


@pytest.mark.slow
def test_extraction_in_actors_equals_the_extractor_here(
    ray_cluster: LocalRayCluster, wheel_dir: Path
) -> None:
    here = LexiconExtractor(load_wheel_maps(wheel_dir))
    answers = [
        f"He sounds {word} and a little tired ({i})." for i, word in enumerate(["angry", "happy"] * 150)
    ]
    with ray_connection(ray_cluster.address):
        remote = RayExtractor(ExtractorRecipe("lexicon", assets=str(wheel_dir)), actors=2)
        labels = remote.ovlabels(answers)  # 300 answers: three chunks, reassembled in order
        assert labels == here.ovlabels(answers)
        assert remote.metadata() == here.metadata() and remote.identity == here.identity
