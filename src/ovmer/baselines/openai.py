"""Any model behind an OpenAI-compatible chat endpoint (vLLM, hosted APIs) as an answer model.

Spec (``ovmer bench --model …``, docs/baselines.md, 'Serving a model with vLLM')::

    openai:URL#MODEL[?key=value&…]
    openai:http://127.0.0.1:8000/v1#Qwen/Qwen2.5-Omni-7B?modalities=a,v,t

Each sample is one ``/chat/completions`` request with one user message whose parts are, media first
and then the question (the order of upstream's transformers-native adapters, docs/baselines.md):

* ``v`` — the frames :func:`~ovmer.media.inputs.build_model_inputs` sampled (upstream's index rule,
  RGB, 224 × 224), one ``image_url`` part each, as a JPEG or PNG data URL;
* ``a`` — the sample's audio as the builder chose it (the dataset's wav, else the video's track),
  mono 16 kHz, as one ``input_audio`` part holding a base64 16-bit PCM WAV;
* the question, one ``text`` part: upstream's video question V (or the audio question A when the
  model hears but does not see), with upstream's subtitle prefix when ``subtitle=on``
  (:func:`ovmer.baselines.prompts.question`; ``t`` in ``modalities`` is that subtitle).

Requests go through the one HTTP client of ovmer (:func:`ovmer.llm.backends.post_json_with_retries`):
each attempt limited by ``timeout``, retried on timeouts, 429 and 5xx with exponential backoff,
``concurrency`` requests in flight at once. A request that still fails is that sample's error (the
runner records it and goes on). The API key is read from the environment variable named by
``api_key_env`` and is never written anywhere (not in the identity, the records or errors).

Options (shared ones as :mod:`ovmer.baselines.spec` parses them, then this scheme's own):

* ``modalities`` (default ``v,t``: an unknown endpoint surely reads images, not surely audio),
  ``subtitle`` (``on`` | ``off`` | ``addsub``: answer without the subtitle, then merge the answer with
  it by the clue-merge prompt through the extractor backend ``merger=``, as the ``hf:`` adapters do),
  ``frames`` (8), ``max_new_tokens`` (1024), ``seed`` (0; sent,
  vLLM and OpenAI honour it), ``batch_size`` (requests per runner batch; default ``concurrency``);
* ``temperature`` (0: greedy), ``top_p`` (1), ``concurrency`` (4), ``timeout`` (seconds per
  attempt, 300), ``retries`` (attempts after the first, 3), ``backoff`` (seconds before the first
  retry, doubled each time, 1), ``image_format`` (``jpeg`` | ``png``), ``api_key_env``.
"""

from __future__ import annotations

import base64
import io
import os
import threading
import time
import wave
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ovmer.baselines.hf_common import build_merger, merge_with_subtitles
from ovmer.baselines.prompts import clean_answer, prompt_sha256, question
from ovmer.baselines.spec import BaselineOptions, parse_options, require_merger, resolve_modalities
from ovmer.data.registry import Sample
from ovmer.errors import BackendError, BaselineSpecError, MediaError
from ovmer.llm.backends import post_json_with_retries
from ovmer.media.audio import SAMPLE_RATE
from ovmer.media.inputs import ModelInputs, build_model_inputs
from ovmer.results.record import AnswerRecord

SCHEME = "openai"
#: The shared baseline options this scheme takes (``dtype``/``device`` belong to the server;
#: ``decoding=paper`` names upstream's per-model sampling, unknown for an arbitrary endpoint).
SHARED_KEYS = ("modalities", "subtitle", "merger", "frames", "batch_size", "max_new_tokens", "seed")
#: This scheme's own options (see the module docstring).
HTTP_KEYS = (
    "temperature",
    "top_p",
    "concurrency",
    "timeout",
    "retries",
    "backoff",
    "image_format",
    "api_key_env",
)
IMAGE_FORMATS = {"jpeg": ".jpg", "png": ".png"}
#: JPEG quality of the frames: high enough that compression does not change what a model sees.
JPEG_QUALITY = 95


@dataclass(frozen=True)
class EndpointSettings:
    """The options of an ``openai:`` spec that are not shared with ``hf:`` (module docstring)."""

    temperature: float = 0.0
    top_p: float = 1.0
    concurrency: int = 4
    timeout: float = 300.0
    retries: int = 3
    backoff: float = 1.0
    image_format: str = "jpeg"
    api_key_env: str | None = None


@dataclass(frozen=True)
class EndpointSpec:
    """A parsed ``openai:URL#MODEL?…`` spec."""

    base_url: str  # ends with /v1
    model: str
    options: BaselineOptions
    settings: EndpointSettings
    batch_size: int


def parse_endpoint_spec(argument: str) -> EndpointSpec:
    """The text after ``openai:`` → :class:`EndpointSpec`; every problem a :class:`BaselineSpecError`."""
    url, _, rest = argument.partition("#")
    model, _, query = rest.partition("?")
    if not url.startswith(("http://", "https://")) or not model:
        raise BaselineSpecError(
            f"model spec 'openai:{argument}' must look like openai:URL#MODEL[?key=value&…], for example "
            "openai:http://127.0.0.1:8000/v1#Qwen/Qwen2.5-Omni-7B?modalities=a,v,t"
        )
    base = url.rstrip("/")
    base = base if base.endswith("/v1") else base + "/v1"
    items = [item for item in query.split("&") if item]
    own = [item for item in items if item.partition("=")[0] in HTTP_KEYS]
    shared = [item for item in items if item not in own]
    options = parse_options("&".join(shared), scheme=SCHEME, allowed=SHARED_KEYS + HTTP_KEYS)
    require_merger(options)
    settings = _endpoint_settings(own)
    given = {item.partition("=")[0] for item in shared}
    batch_size = options.batch_size if "batch_size" in given else settings.concurrency
    return EndpointSpec(base, model, options, settings, batch_size)


def _endpoint_settings(items: list[str]) -> EndpointSettings:
    values: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise BaselineSpecError(f"openai spec option {key} needs a value ({key}=…)")
        if key in values:
            raise BaselineSpecError(f"openai spec option {key!r} is given twice")
        values[key] = _setting(key, value)
    return EndpointSettings(**values)


def _setting(key: str, value: str) -> Any:
    if key in ("image_format", "api_key_env"):
        if key == "image_format" and value not in IMAGE_FORMATS:
            raise BaselineSpecError(f"openai spec option image_format must be jpeg or png, got {value!r}")
        return value
    number_type = int if key in ("concurrency", "retries") else float
    try:
        number = number_type(value)
    except ValueError:
        kind = "an integer" if number_type is int else "a number"
        raise BaselineSpecError(f"openai spec option {key} must be {kind}, got {value!r}") from None
    lowest = {"concurrency": 1, "retries": 0, "temperature": 0.0, "backoff": 0.0}.get(key)
    if (lowest is not None and number < lowest) or (lowest is None and not number > 0):
        bound = f"at least {lowest}" if lowest is not None else "positive"
        raise BaselineSpecError(f"openai spec option {key} must be {bound}, got {value!r}")
    if key == "top_p" and number > 1:
        raise BaselineSpecError(f"openai spec option top_p must be in (0, 1], got {value!r}")
    return number


def encode_image(frame: np.ndarray, image_format: str = "jpeg") -> str:
    """One uint8 RGB frame ``(H, W, 3)`` → a ``data:image/…;base64,…`` URL (JPEG or PNG)."""
    import cv2

    ok, encoded = cv2.imencode(
        IMAGE_FORMATS[image_format],
        cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR),  # OpenCV writes BGR
        [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if image_format == "jpeg" else [],
    )
    if not ok:
        raise MediaError(f"cannot encode a frame of shape {frame.shape} as {image_format}")
    return f"data:image/{image_format};base64," + base64.b64encode(encoded.tobytes()).decode("ascii")


def encode_wav(waveform: np.ndarray, rate: int = SAMPLE_RATE) -> str:
    """Mono float32 audio ``(S,)`` in [-1, 1] → base64 of a 16-bit PCM WAV file."""
    pcm = (np.clip(waveform, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass
class EndpointRequest:
    """One sample, loaded: its inputs (for provenance), the question and the message parts."""

    inputs: ModelInputs
    question: str
    content: list[dict[str, Any]]
    audio_seconds: float | None


class OpenAIEndpointAnswerer:
    """An OpenAI-compatible chat endpoint as an :class:`~ovmer.inference.protocol.AnswerModel`.

    ``load`` (runner worker threads) builds the sample's inputs with the one builder and encodes the
    message parts; ``answer_batch`` sends the batch's requests, ``concurrency`` at a time.
    """

    def __init__(self, spec: EndpointSpec) -> None:
        self.spec = spec
        self.options = spec.options
        self.settings = spec.settings
        self.batch_size = spec.batch_size
        supported = ("a", "v", "t") if self.options.modalities is not None else ("v", "t")
        self.modalities = resolve_modalities(self.options, supported, f"{spec.base_url}#{spec.model}")
        self._key = self._api_key()
        self._gate = threading.Semaphore(self.settings.concurrency)
        self.merger = build_merger(self.options)  # subtitle=addsub only
        described = {
            "modalities": "".join(self.modalities),
            "subtitle": self.options.subtitle,
            "frames": self.options.frames,
            "max_new_tokens": self.options.max_new_tokens,
            "temperature": self.settings.temperature,
            "top_p": self.settings.top_p,
            "seed": self.options.seed,
        }
        if self.merger is not None:
            described["merger"] = self.options.merger
        if "v" in self.modalities:
            described["image_format"] = self.settings.image_format
        settings = ";".join(f"{k}={described[k]}" for k in sorted(described))
        self.identity = f"openai:{spec.base_url}#{spec.model}[{settings}]"

    def _api_key(self) -> str | None:
        name = self.settings.api_key_env
        if name is None:
            return None
        key = os.environ.get(name, "")
        if not key:
            raise BaselineSpecError(
                f"openai spec option api_key_env={name}: the environment variable {name} is not set or "
                f"empty; export {name}=<your API key>, or drop api_key_env for a server without keys"
            )
        return key

    def load(self, sample: Sample) -> EndpointRequest:
        inputs = build_model_inputs(sample.media(), "frame", n_frames=self.options.frames)
        subtitle = (inputs.subtitle or "") if self.options.subtitle == "on" else None
        text = question("video" if "v" in self.modalities else "audio", subtitle)
        content: list[dict[str, Any]] = []
        if "v" in self.modalities:
            frames = inputs.visual("frame")  # (T, 224, 224, 3) RGB
            content += [
                {"type": "image_url", "image_url": {"url": encode_image(f, self.settings.image_format)}}
                for f in frames
            ]
        audio_seconds = None
        if "a" in self.modalities:
            waveform = inputs.whole_waveform()  # the builder's track (docs/baselines.md)
            audio_seconds = round(waveform.shape[0] / SAMPLE_RATE, 3)
            content.append(
                {"type": "input_audio", "input_audio": {"data": encode_wav(waveform), "format": "wav"}}
            )
        content.append({"type": "text", "text": text})
        return EndpointRequest(inputs, text, content, audio_seconds)

    def _body(self, request: EndpointRequest) -> dict[str, Any]:
        return {
            "model": self.spec.model,
            "messages": [{"role": "user", "content": request.content}],
            "max_tokens": self.options.max_new_tokens,
            "temperature": self.settings.temperature,
            "top_p": self.settings.top_p,
            "seed": self.options.seed,
        }

    def _ask(self, request: EndpointRequest) -> AnswerRecord | Exception:
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        started = time.perf_counter()
        try:
            payload, attempts = post_json_with_retries(
                self.spec.base_url + "/chat/completions",
                self._body(request),
                headers=headers,
                timeout_s=self.settings.timeout,
                max_attempts=self.settings.retries + 1,
                backoff_s=self.settings.backoff,
                gate=self._gate,
            )
            choice = payload["choices"][0]
            text = choice["message"]["content"]
        except BackendError as exc:
            return exc
        except (KeyError, IndexError, TypeError) as exc:
            return BackendError(f"{self.spec.base_url}/chat/completions: reply without a message ({exc!r})")
        if not isinstance(text, str):
            return BackendError(f"{self.spec.base_url}/chat/completions: the reply's message has no text")
        answer = clean_answer(text)
        return self._record(request, answer, payload, choice, attempts, time.perf_counter() - started)

    def _record(
        self,
        request: EndpointRequest,
        text: str,
        payload: dict[str, Any],
        choice: dict[str, Any],
        attempts: int,
        seconds: float,
    ) -> AnswerRecord:
        inputs = request.inputs
        details: dict[str, Any] = {
            # The question's hash, as hf: records it; the chat text is rendered by the server.
            "question_sha256": prompt_sha256(request.question),
            "modalities": "".join(self.modalities),
            "subtitle_variant": self.options.subtitle,
            "http_attempts": attempts,
            "images": sum(1 for part in request.content if part["type"] == "image_url"),
            "finish_reason": choice.get("finish_reason"),
        }
        if self.options.subtitle == "on":  # the subtitle the question carried
            details["subtitle"] = inputs.subtitle or ""
        if request.audio_seconds is not None:
            details["audio_seconds_sent"] = request.audio_seconds
        if isinstance(payload.get("usage"), dict):
            details["usage"] = payload["usage"]
        return AnswerRecord(
            name="",
            text=text,
            inputs=inputs.provenance.to_json(),
            details=details,
            timings={**inputs.timings, "request_s": round(seconds, 3)},
        )

    def answer_batch(self, items: Sequence[EndpointRequest]) -> list[AnswerRecord | Exception]:
        """One request per item, ``concurrency`` in flight; a failed request is that item's error."""
        if not items:
            return []
        with ThreadPoolExecutor(max_workers=min(self.settings.concurrency, len(items))) as pool:
            records = list(pool.map(self._ask, items))
        return merge_with_subtitles(records, [item.inputs.subtitle or "" for item in items], self.merger)

    def close(self) -> None:
        """Nothing to free: no connection outlives its request."""


def openai_from_spec(argument: str) -> OpenAIEndpointAnswerer:
    """The answer model of ``openai:ARGUMENT`` (see the module docstring)."""
    return OpenAIEndpointAnswerer(parse_endpoint_spec(argument))
