"""schemathesis against the live server's ``/openapi.json``: every operation, generated requests
(valid and invalid), never a 5xx. Bounded: ``OVMER_FUZZ_EXAMPLES`` per operation (default 25), no
deadline (the 2-core CI box is slow and noisy)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ovmer.serve.settings import ServeSettings
from tests.serve.conftest import live_server, wait_until_clean

schemathesis = pytest.importorskip("schemathesis", reason="API fuzzing needs schemathesis ([dev] extra)")
from hypothesis import HealthCheck, given, settings  # noqa: E402

pytestmark = [pytest.mark.network, pytest.mark.slow]

EXAMPLES = int(os.environ.get("OVMER_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def temp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve_tmp")


@pytest.fixture(scope="module")
def server(temp_root: Path, wheel_dir: Path) -> Iterator[str]:
    with live_server(
        ServeSettings(max_upload_mb=0.25, temp_root=temp_root, assets=wheel_dir, timeout_s=20)
    ) as url:
        yield url


def test_no_generated_request_gets_a_server_error(server: str, temp_root: Path) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/healthz", "/v1/models", "/v1/describe", "/v1/score"}
    seen: dict[str, set[int]] = {}
    for operation in operations:

        @settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=server, timeout=30)
            seen.setdefault(case.operation.path, set()).add(response.status_code)
            assert response.status_code < 500, (case.as_curl_command(), response.text)
            if response.status_code >= 400:  # every error has the one JSON shape
                assert set(response.json()["error"]) == {"code", "message"}

        check()
    assert seen["/v1/describe"] and all(status < 500 for statuses in seen.values() for status in statuses)
    assert wait_until_clean(temp_root) == []
