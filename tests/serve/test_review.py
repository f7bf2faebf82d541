"""The Review tab (``ovmer serve --corpus DIR``): the queue from an annotation corpus, the clip's
video by name, decisions appended to ``review.jsonl`` through :mod:`ovmer.results.review`; the API
on a real server and the tab in headless Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ovmer.results.jsonl import append_json_lines
from ovmer.results.review import read_decisions
from ovmer.serve.settings import ServeSettings
from tests.serve.conftest import DEMO_CLIP, live_server

pytestmark = [pytest.mark.network, pytest.mark.slow]


def expect(locator: Any) -> Any:
    """Playwright's retrying assertions (polled by Playwright, not by code evaluated in the page,
    which the page's Content-Security-Policy forbids)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, short_clip: Path) -> Path:
    """Three described clips as ``ovmer annotate describe|filter`` lay them out (docs/annotate.md):
    the demo clip (absolute path), a synthetic clip (path relative to the corpus), a failed clip."""
    folder = tmp_path_factory.mktemp("corpus")
    (folder / "media").mkdir()
    (folder / "media" / "short.mp4").write_bytes(short_clip.read_bytes())
    clip = {"audio": None, "audio_clue": "The voice is bright.", "visual_clue": "The person smiles."}
    append_json_lines(folder / "clips.jsonl", [
        {**clip, "name": "demo", "video": str(DEMO_CLIP), "subtitle": "So happy to see you.", "description": "A happy greeting."},
        {**clip, "name": "short", "video": "media/short.mp4", "subtitle": None, "description": "Calm, maybe bored."},
        {"name": "broken", "video": None, "error": "cannot decode"},
    ])  # fmt: skip
    append_json_lines(folder / "labels.jsonl", [
        {"name": "demo", "labels": ["happy", "excited"], "sentiment": "positive"},
        {"name": "short", "labels": ["calm"], "sentiment": "neutral"},
    ])  # fmt: skip
    append_json_lines(folder / "filter.jsonl", [
        {"name": "demo", "kept": True},
        {"name": "short", "kept": False, "stage": "length", "reason": "description too short"},
    ])  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def server(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(ServeSettings(corpus=corpus, temp_root=tmp_path_factory.mktemp("serve_tmp"))) as url:
        yield url


def test_queue_video_and_decisions_through_the_api(server: str, corpus: Path) -> None:
    queue = httpx.get(f"{server}/v1/review/items").json()
    assert [i["name"] for i in queue["items"]] == ["demo", "short"]  # the failed clip has nothing to review
    demo = queue["items"][0]
    assert demo["labels"] == ["happy", "excited"] and demo["status"] == "pending" and "video" not in demo
    assert str(corpus) not in str(queue) and str(DEMO_CLIP) not in str(queue)
    video = httpx.get(server + queue["items"][1]["video_url"])
    assert video.status_code == 200 and video.content == (corpus / "media" / "short.mp4").read_bytes()
    assert httpx.get(f"{server}/v1/review/items/broken/video").status_code == 404
    assert httpx.get(f"{server}/v1/review/items/..%2Fetc/video").status_code == 404

    def post(name: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{server}/v1/review/items/{name}/decision", json=body)

    assert post("demo", {"decision": "accept", "reviewer": ""}).status_code == 422
    assert post("demo", {"decision": "maybe", "reviewer": "ann"}).status_code == 422
    bad = post("demo", {"decision": "edit", "reviewer": "ann", "labels": []})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_review"
    unknown = post("nobody", {"decision": "reject", "reviewer": "ann"})
    assert unknown.status_code == 422 and str(corpus) not in unknown.text
    saved = post("short", {"decision": "edit", "reviewer": "ann", "labels": ["calm", "bored"]}).json()
    assert (
        saved["decision"] == "edit" and saved["labels"] == ["calm", "bored"] and saved["time"].endswith("Z")
    )
    assert read_decisions(corpus)["short"].labels == ["calm", "bored"]
    counts = httpx.get(f"{server}/v1/review/items", params={"status": "edited"}).json()
    assert [i["name"] for i in counts["items"]] == ["short"] and counts["counts"]["edited"] == 1


def test_without_a_corpus_the_review_routes_say_how_to_get_one(tmp_path: Path) -> None:
    with live_server(ServeSettings(temp_root=tmp_path)) as url:
        assert httpx.get(f"{url}/healthz").json()["review"] is False
        response = httpx.get(f"{url}/v1/review/items")
        assert response.status_code == 404 and "--corpus" in response.json()["error"]["message"]


def test_review_tab_plays_the_clip_and_records_accept_edit_reject(
    browser: Any, server: str, corpus: Path, artifacts: Path
) -> None:
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.goto(server + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#tab-review")
    page.fill("#reviewer", "Bo")
    page.click('#review-list button[data-name="demo"]')
    assert page.inner_text("#review-description") == "A happy greeting."
    assert page.locator("#review-labels li").all_inner_texts() == ["happy", "excited"]
    assert "smiles" in page.inner_text("#review-visual-clue")
    expect(page.locator("#review-video")).to_have_attribute("src", re.compile("^blob:"))
    page.click("#review-accept")
    page.wait_for_selector('#review-list button[data-name="demo"] .badge.accepted')
    page.click('#review-list button[data-name="short"]')
    assert "removed at length" in page.inner_text("#review-verdict")
    page.fill("#review-edit-labels", "calm, relaxed")
    page.click("#review-edit")
    page.wait_for_selector('#review-list button[data-name="short"] .badge.edited')
    page.screenshot(path=str(artifacts / "serve-review.png"), full_page=True)
    page.click("#review-reject")
    page.wait_for_selector('#review-list button[data-name="short"] .badge.rejected')
    context.close()
    decisions = read_decisions(corpus)
    assert decisions["demo"].decision == "accept" and decisions["demo"].reviewer == "Bo"
    assert decisions["short"].decision == "reject"
    history = (corpus / "review.jsonl").read_text().splitlines()
    assert any('"relaxed"' in line for line in history)  # the edit stays in the append-only history
