"""No module of ovmer.models imports itself back, through any chain of ovmer modules.

The graph comes from grimp, the library behind import-linter (``[dev]`` extra). Imports inside
functions count (a lazy import is still a dependency); ``if TYPE_CHECKING:`` imports do not (they
never run).
"""

from __future__ import annotations

import itertools

import pytest

grimp = pytest.importorskip("grimp")


def test_models_package_has_no_import_cycle() -> None:
    graph = grimp.build_graph("ovmer", exclude_type_checking_imports=True, cache_dir=None)
    modules = sorted(m for m in graph.modules if m.startswith("ovmer.models."))
    assert "ovmer.models.loading" in modules and "ovmer.models.modeling_affectgpt" in modules
    cycles = [
        (
            graph.find_shortest_chain(importer=a, imported=b),
            graph.find_shortest_chain(importer=b, imported=a),
        )
        for a, b in itertools.combinations(modules, 2)
        if graph.chain_exists(importer=a, imported=b) and graph.chain_exists(importer=b, imported=a)
    ]
    assert cycles == []
