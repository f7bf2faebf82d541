"""The HTTP API on a real server: answers, the one error shape, scoring, clean-up, no leaked paths."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ovmer.cli.main import app as cli_app
from ovmer.serve.settings import ServeSettings
from tests.serve.conftest import live_server, wait_until_clean

pytestmark = [pytest.mark.network, pytest.mark.slow]


@pytest.fixture(scope="module")
def temp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve_tmp")


@pytest.fixture(scope="module")
def server(temp_root: Path, wheel_dir: Path) -> Iterator[str]:
    settings = ServeSettings(max_upload_mb=0.5, temp_root=temp_root, assets=wheel_dir, timeout_s=60)
    with live_server(settings) as url:
        yield url


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60) as c:
        yield c


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    return str(body["error"]["message"])


def test_health_and_models(client: httpx.Client) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["model"] == "clues:v1" and health["wheel"] is True
    assert health["limits"]["max_upload_mb"] == 0.5
    models = client.get("/v1/models").json()
    assert models["models"] == [{"id": "clues:v1", "spec": "clues", "batch_size": 1}]


def test_describe_answers_with_the_record_clues_wheel_and_views(
    client: httpx.Client, tone_clip: Path, temp_root: Path
) -> None:
    files = {"video": ("my clip.mp4", tone_clip.read_bytes(), "video/mp4")}
    response = client.post(
        "/v1/describe",
        files=files,
        data={"task": "description", "views": "true", "subtitle": "I am so happy."},
    )
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["model"] == "clues:v1" and record["task"] == "description" and record["name"] == "my_clip"
    assert isinstance(record["text"], str) and record["text"]
    assert record["clues"] == record["details"]["clues"] and record["clues"]["speech"]["source"] == "subtitle"
    assert record["inputs"]["video"] == "video/my_clip.mp4"  # the client's name, never the server's folder
    assert str(temp_root) not in response.text and "ovmer-serve-" not in response.text
    assert record["serve"]["batch_requests"] == 1 and record["serve"]["answer_s"] > 0
    wheel = record["wheel"]
    assert len(wheel["roots"]) == 6 and [x["label"] for x in wheel["labels"]] == record["ov_labels"]
    views = record["model_inputs"]
    assert len(views["frames"]) == 8 and len(views["faces"]) == 8 and len(views["frame_indices"]) == 8
    assert all(url.startswith("data:image/jpeg;base64,") for url in views["frames"] + views["faces"])
    assert wait_until_clean(temp_root) == []


def test_views_of_a_clip_without_audio_say_why_they_are_missing(
    client: httpx.Client, short_clip: Path
) -> None:
    response = client.post(
        "/v1/describe", files={"video": ("s.mp4", short_clip.read_bytes())}, data={"views": "true"}
    )
    assert response.status_code == 200 and response.json()["text"]
    assert "audio" in response.json()["model_inputs"]["error"]


def test_content_is_sniffed_not_the_name(client: httpx.Client, short_clip: Path, temp_root: Path) -> None:
    fake = {"video": ("clip.mp4", b"name,openset\nx,[happy]\n" * 20, "video/mp4")}
    assert "not a video file" in assert_error(
        client.post("/v1/describe", files=fake), 415, "unsupported_media"
    )
    real = {"video": ("notes.txt", short_clip.read_bytes(), "text/plain")}
    assert client.post("/v1/describe", files=real).status_code == 200
    for head in (
        b"\x1a\x45\xdf\xa3",
        b"OggS",
        b"\x00\x00\x00\x18ftypmp42",
    ):  # a container's magic, then noise
        noise = {"video": ("n.mkv", head + bytes(range(256)) * 20)}
        assert_error(
            client.post("/v1/describe", files=noise, data={"views": "true"}), 422, "unreadable_media"
        )
    bad_audio = {"video": ("a.mp4", short_clip.read_bytes()), "audio": ("a.wav", b"\x00" * 600)}
    assert_error(client.post("/v1/describe", files=bad_audio), 415, "unsupported_media")
    assert wait_until_clean(temp_root) == []


def test_limits_and_bad_fields_are_4xx_json(client: httpx.Client, short_clip: Path, temp_root: Path) -> None:
    big = short_clip.read_bytes()[:512] + b"\x00" * (700 * 1024)  # an MP4 head, 0.7 MiB > 0.5 MiB
    assert "0.5 MiB" in assert_error(
        client.post("/v1/describe", files={"video": ("big.mp4", big)}), 413, "too_large"
    )
    huge = b"\x00" * (2 * 1024 * 1024)  # beyond the body limit: refused before it is read
    assert_error(client.post("/v1/describe", files={"video": ("huge.mp4", huge)}), 413, "too_large")

    def chunked_body() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'--x\r\nContent-Disposition: form-data; name="video"; filename="v.mp4"\r\n\r\n'
        yield from (b"\x00" * 65536 for _ in range(32))

    chunked = client.post(
        "/v1/describe", content=chunked_body(), headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert_error(chunked, 413, "too_large")
    assert_error(client.post("/v1/describe", files={"video": ("e.mp4", b"")}), 422, "empty_file")
    clip = {"video": ("c.mp4", short_clip.read_bytes())}
    assert "task" in assert_error(
        client.post("/v1/describe", files=clip, data={"task": "poem"}), 422, "invalid_request"
    )
    assert_error(client.post("/v1/describe", data={"task": "ovlabels"}), 422, "invalid_request")
    truncated = {"video": ("t.mp4", short_clip.read_bytes()[:900])}  # an MP4 head and no frames
    assert client.post("/v1/describe", files=truncated).status_code == 422
    assert_error(client.get("/v1/nothing"), 404, "not_found")
    assert_error(client.get("/v1/describe"), 405, "method_not_allowed")
    assert wait_until_clean(temp_root) == []


def test_score_gives_the_object_of_ovmer_score_json(
    client: httpx.Client, reference: Path, wheel_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pred, gt = (
        reference / "ov_example" / "predict-openset.csv",
        reference / "ov_example" / "check-openset.csv",
    )
    files = {"pred": (pred.name, pred.read_bytes()), "gt": ("whatever.csv", gt.read_bytes())}
    response = client.post("/v1/score", files=files, data={"dataset": "ovmerdplus", "protocol": "paper"})
    assert response.status_code == 200, response.text
    gt_copy = tmp_path / "ovlabel.csv"  # the dataset's label-file name, as the server saves it
    gt_copy.write_bytes(gt.read_bytes())
    monkeypatch.setenv("OVMER_ASSETS_DIR", str(wheel_dir))
    out = tmp_path / "score.json"
    cli = CliRunner().invoke(
        cli_app, ["score", "-d", "ovmerdplus", "--gt", str(gt_copy), "--pred", str(pred), "--json", str(out)]
    )
    assert cli.exit_code == 0, cli.output
    assert response.json() == json.loads(out.read_text())


def test_score_errors(client: httpx.Client, reference: Path, temp_root: Path) -> None:
    pred = reference / "ov_example" / "predict-openset.csv"
    files = {"pred": (pred.name, pred.read_bytes())}
    assert "--gt-root" in assert_error(
        client.post("/v1/score", files=files, data={"dataset": "ovmerdplus"}), 422, "missing_ground_truth"
    )
    assert_error(client.post("/v1/score", files=files, data={"dataset": "nope"}), 422, "unknown_dataset")
    junk = {"pred": ("p.jsonl", b"not json\n"), "gt": ("g.csv", pred.read_bytes())}
    message = assert_error(
        client.post("/v1/score", files=junk, data={"dataset": "ovmerdplus"}), 422, "cannot_score"
    )
    assert "ovmer-serve-" not in message and str(temp_root) not in message
    assert wait_until_clean(temp_root) == []
