"""The page in headless Chromium (Debian's, driven by Playwright through ``executable_path``; no
browser download): upload the demo clip, see labels, frames and crops; see the messages for a
too-large and a non-video file; score a prediction file; fit a phone-width screen.

Screenshots go to ``$OVMER_TEST_ARTIFACTS/serve`` when that is set (CI keeps them), else to the
test's temp folder. Without Chromium the tests skip, unless ``OVMER_REQUIRE_BROWSER=1`` (CI).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from ovmer.serve.settings import ServeSettings
from tests.serve.conftest import DEMO_CLIP, live_server, wait_until_clean

sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright ([dev] extra)")

pytestmark = [pytest.mark.network, pytest.mark.slow]

#: Wait for an answer from the clue engine (the first request loads Whisper and the face mesh).
ANSWER_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def temp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve_tmp")


@pytest.fixture(scope="module")
def server(temp_root: Path, wheel_dir: Path) -> Iterator[str]:
    with live_server(ServeSettings(max_upload_mb=1, temp_root=temp_root, assets=wheel_dir)) as url:
        yield url


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh page on the server that fails the test if it asks any other host for anything or
    raises a script error."""
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    hosts: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: hosts.append(urlparse(request.url).hostname or request.url[:5]))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server + "/")
    page.wait_for_selector("body[data-ready=true]")
    yield page
    context.close()
    assert set(hosts) <= {"127.0.0.1", "data:", "blob:"}, hosts
    assert errors == []  # no script error on the page


def test_demo_clip_shows_labels_frames_crops_and_the_wheel(
    page: Any, artifacts: Path, temp_root: Path
) -> None:
    page.set_input_files("#video", str(DEMO_CLIP))
    page.wait_for_selector("#describe-result:not([hidden])", timeout=ANSWER_TIMEOUT_MS)
    labels = page.locator("#labels li").all_inner_texts()
    assert labels and all(label.strip() for label in labels)
    assert page.locator("#frames img").count() == 8 and page.locator("#faces img").count() == 8
    assert page.eval_on_selector_all(
        "#frames img", "imgs => imgs.every(i => i.complete && i.naturalWidth === 224)"
    )
    placed = page.locator("#wheel text.placed-label").all_text_contents()
    assert placed and set(placed) <= set(labels)
    assert "smil" in page.inner_text("#clues")  # the demo clip's face cue
    assert page.inner_text("#description").strip()
    page.screenshot(path=str(artifacts / "serve-describe.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 391  # no sideways scrolling on a phone
    page.screenshot(path=str(artifacts / "serve-describe-phone.png"), full_page=True)
    assert wait_until_clean(temp_root) == []


def test_too_large_and_non_video_files_get_clear_messages(page: Any, tmp_path: Path, artifacts: Path) -> None:
    big = tmp_path / "big.mp4"
    big.write_bytes(DEMO_CLIP.read_bytes()[:512] + b"\x00" * (3 * 1024 * 1024))
    page.set_input_files("#video", str(big))
    page.wait_for_selector("#describe-error:not([hidden])", timeout=ANSWER_TIMEOUT_MS)
    message = page.inner_text("#describe-error")
    assert "413" in message and "too_large" in message and "smaller" in message
    text = tmp_path / "clip.mp4"  # a video's name, a text file's content
    text.write_text("this is not a video\n" * 50)
    page.set_input_files("#video", str(text))
    sync_api.expect(page.locator("#describe-error")).to_contain_text("415", timeout=ANSWER_TIMEOUT_MS)
    message = page.inner_text("#describe-error")
    assert "unsupported_media" in message and "not a video file" in message
    page.screenshot(path=str(artifacts / "serve-error.png"))


def test_score_tab_shows_the_metrics_and_the_per_wheel_chart(
    page: Any, reference: Path, artifacts: Path
) -> None:
    page.click("#tab-score")
    page.set_input_files("#pred", str(reference / "ov_example" / "predict-openset.csv"))
    page.select_option("#dataset", "ovmerdplus")
    page.set_input_files("#gt", str(reference / "ov_example" / "check-openset.csv"))
    page.click("#score-button")
    page.wait_for_selector("#score-result:not([hidden])", timeout=ANSWER_TIMEOUT_MS)
    assert "ovmerdplus: unibench_l1_f" in page.inner_text("#score-main")
    assert page.locator("#wheel-chart rect.bar").count() == 10  # W1L1 … W5L2
    page.screenshot(path=str(artifacts / "serve-score.png"), full_page=True)
