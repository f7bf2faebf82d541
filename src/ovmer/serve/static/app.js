// ovmer serve page: plain JavaScript, no library, no build step. Charts are drawn as inline SVG.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#f2b134", "#4aa8d8", "#e0604e", "#8e6fd1", "#5bb572", "#d87bb0", "#7a8594"];
let limits = { max_upload_mb: null };

function el(tag, attrs = {}, text = null, ns = null) {
  const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

// Every API error arrives as {"error": {"code", "message"}}; say what happened and what to do.
const HINTS = {
  too_large: "Pick a shorter or smaller clip.",
  unsupported_media: "Pick a video file (MP4, WebM, MKV, AVI, MOV…).",
  unauthorized: "Enter the server's API key at the top of the page.",
  queue_full: "The server is busy.",
  timeout: "The clip took too long to analyse; try a shorter one.",
};

function keyHeaders() {
  const key = $("api-key").value;
  return key ? { Authorization: "Bearer " + key } : {};
}

// POST a form (or, with method/json, any request); the parsed JSON answer, or an Error saying why not.
async function callApi(path, form, options = {}) {
  const headers = keyHeaders();
  let body = form;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  let response;
  try {
    response = await fetch(path, { method: options.method || "POST", body, headers });
  } catch (err) {
    throw new Error("Could not reach the server (" + err.message + ").");
  }
  let answer = null;
  try { answer = await response.json(); } catch (err) { answer = null; }
  if (!response.ok) {
    const error = (answer && answer.error) || { code: "http_" + response.status, message: response.statusText };
    let text = `Error ${response.status} (${error.code}): ${error.message}`;
    if (HINTS[error.code]) text += " " + HINTS[error.code];
    const retry = response.headers.get("Retry-After");
    if (retry) text += ` Try again in ${retry} s.`;
    throw new Error(text);
  }
  return answer;
}

function showError(prefix, message) {
  $(prefix + "-status").textContent = "";
  const box = $(prefix + "-error");
  box.textContent = message;
  box.hidden = !message;
}

// ---- Describe tab ----
async function describe(file) {
  showError("describe", "");
  $("describe-result").hidden = true;
  if (!file) return;
  $("describe-status").textContent = `Analysing ${file.name}…`;
  const form = new FormData();
  form.append("video", file);
  const subtitle = $("subtitle").value.trim();
  if (subtitle) form.append("subtitle", subtitle);
  form.append("task", $("task").value);
  form.append("views", "true");
  try {
    const record = await callApi("/v1/describe", form);
    showDescription(record, file);
    $("describe-status").textContent = `Answered by ${record.model} in ${(record.serve.answer_s).toFixed(1)} s.`;
  } catch (err) {
    showError("describe", err.message);
  }
}

function showDescription(record, file) {
  const clip = $("clip");
  if (clip.src) URL.revokeObjectURL(clip.src);
  clip.src = URL.createObjectURL(file);
  $("description").textContent = record.text || "(no description)";
  const labels = Array.isArray(record.ov_labels) ? record.ov_labels : [];
  const chips = $("labels");
  chips.replaceChildren(...labels.map((l) => el("li", { class: "label" }, l)));
  drawWheel($("wheel"), record.wheel, labels);
  const views = record.model_inputs || {};
  thumbs($("frames"), views.frames || [], (i) => `frame ${views.frame_indices ? views.frame_indices[i] : i}`);
  thumbs($("faces"), views.faces || [], (i) => (views.face_found && !views.face_found[i] ? "no face" : `face ${i + 1}`),
         views.face_found);
  if (views.error) $("faces").append(el("p", { class: "error" }, "Views unavailable: " + views.error));
  showClues(record.clues);
  $("record").textContent = JSON.stringify({ ...record, model_inputs: undefined }, null, 2);
  $("describe-result").hidden = false;
}

function thumbs(box, urls, caption, found) {
  box.replaceChildren(...urls.map((url, i) => {
    const fig = el("figure", found && !found[i] ? { class: "missing" } : {});
    fig.append(el("img", { src: url, alt: caption(i), width: "224", height: "224" }), el("figcaption", {}, caption(i)));
    return fig;
  }));
}

function showClues(clues) {
  const list = $("clues");
  list.replaceChildren();
  if (!clues) { list.append(el("dd", {}, "This model gives no clues.")); return; }
  const face = clues.face || {}, voice = clues.voice || {}, speech = clues.speech || {};
  const rows = [
    ["Face", (face.active || []).join(", ") || "no facial cue"],
    ["Voice", [voice.pitch_level && `${voice.pitch_level} pitch`, voice.pitch_contour && `${voice.pitch_contour} intonation`,
               voice.loudness_level && `${voice.loudness_level} loudness`, voice.speaking_rate && `${voice.speaking_rate} rate`]
              .filter(Boolean).join(", ") || "no speech"],
    ["Speech", speech.text ? `"${speech.text}" (${speech.source})` : "nothing said"],
    ["Emotion words", ((speech.lexical || {}).emotion_words || []).join(", ") || "none"],
  ];
  for (const [k, v] of rows) list.append(el("dt", {}, k), el("dd", {}, v));
}

// The wheel: one sector per level-1 root of wheel 1; each label sits in its root's sector.
function drawWheel(box, wheel, labels) {
  box.replaceChildren();
  const size = 320, c = size / 2, outer = 150, inner = 40;
  const svg = el("svg", { viewBox: `-40 0 ${size + 80} ${size}`, width: "100%", role: "img", "aria-label": "emotion wheel" }, null, SVG);
  if (!wheel) {
    box.append(el("p", { class: "muted" }, "Emotion-wheel files are not available on this server (start it with --assets)."));
    return;
  }
  const roots = Object.keys(wheel.roots);
  const step = (2 * Math.PI) / roots.length;
  const point = (r, a) => [c + r * Math.cos(a - Math.PI / 2), c + r * Math.sin(a - Math.PI / 2)];
  roots.forEach((root, i) => {
    const [x1, y1] = point(outer, i * step), [x2, y2] = point(outer, (i + 1) * step);
    const [x3, y3] = point(inner, (i + 1) * step), [x4, y4] = point(inner, i * step);
    const path = `M${x1},${y1} A${outer},${outer} 0 0 1 ${x2},${y2} L${x3},${y3} A${inner},${inner} 0 0 0 ${x4},${y4} Z`;
    svg.append(el("path", { d: path, fill: COLORS[i % COLORS.length], "fill-opacity": "0.25", stroke: "white" }, null, SVG));
    const [tx, ty] = point(outer - 14, (i + 0.5) * step);
    svg.append(el("text", { x: tx, y: ty, "text-anchor": "middle", "font-weight": "bold", class: "root" }, root, SVG));
  });
  const placed = {};
  const unplaced = [];
  for (const item of wheel.labels) {
    const i = roots.indexOf(item.root);
    if (i < 0) { unplaced.push(item.label); continue; }
    const n = (placed[i] = (placed[i] || 0) + 1);
    const [x, y] = point(outer - 38 - 18 * (n - 1), (i + 0.5) * step);
    const g = el("g", { class: "placed", "data-root": item.root }, null, SVG);
    g.append(el("circle", { cx: x, cy: y - 4, r: 4, fill: COLORS[i % COLORS.length] }, null, SVG),
             el("text", { x: x + 7, y: y, class: "placed-label" }, item.label, SVG));
    svg.append(g);
  }
  box.append(svg);
  if (unplaced.length) box.append(el("p", { class: "muted" }, "Not on the wheel: " + unplaced.join(", ")));
  if (!labels.length) box.append(el("p", { class: "muted" }, "No OV labels."));
}

// ---- Score tab ----
async function score(event) {
  event.preventDefault();
  showError("score", "");
  $("score-result").hidden = true;
  const pred = $("pred").files[0];
  if (!pred) { showError("score", "Pick a prediction file first."); return; }
  const form = new FormData();
  form.append("pred", pred);
  form.append("dataset", $("dataset").value);
  if ($("gt").files[0]) form.append("gt", $("gt").files[0]);
  form.append("protocol", $("protocol").value);
  $("score-status").textContent = "Scoring…";
  try {
    const result = await callApi("/v1/score", form);
    showScore(result);
    $("score-status").textContent = "";
  } catch (err) {
    showError("score", err.message);
  }
}

// Per-wheel values: OV sets report W1L1…W5L2, discrete sets per_wheel[M3-Wk-L1][metric].
function perWheel(result) {
  if (result.per_wheel) {
    return Object.entries(result.per_wheel).map(([k, v]) => [k, v[result.metric]]);
  }
  return Object.keys(result).filter((k) => /^W\dL\d$/.test(k)).map((k) => [k, result[k]]);
}

function showScore(result) {
  const fmt = (v) => (typeof v === "number" ? v.toFixed(2) : "–");
  $("score-main").textContent = `${result.dataset}: ${result.metric} ${fmt(result.score)} over ${result.n_scored} samples`;
  const bars = perWheel(result);
  drawBars($("wheel-chart"), bars);
  const table = $("score-table");
  table.replaceChildren(el("tr", {}, null));
  table.firstChild.append(el("th", {}, "metric"), el("th", {}, "value"));
  const rows = [[result.metric, result.score], ...Object.entries(result.secondary || {}), ...bars];
  for (const [k, v] of rows) {
    const tr = el("tr");
    tr.append(el("td", {}, k), el("td", {}, fmt(v)));
    table.append(tr);
  }
  $("score-result").hidden = false;
}

function drawBars(box, bars) {
  box.replaceChildren();
  if (!bars.length) { box.append(el("p", { class: "muted" }, "This dataset has no per-wheel metrics.")); return; }
  const rowH = 22, width = 420, labelW = 90;
  const svg = el("svg", { viewBox: `0 0 ${width} ${bars.length * rowH + 4}`, width: "100%", role: "img", "aria-label": "per-wheel chart" }, null, SVG);
  bars.forEach(([name, value], i) => {
    const v = typeof value === "number" ? value : 0;
    const y = i * rowH + 2;
    svg.append(el("text", { x: 0, y: y + 14 }, name, SVG),
               el("rect", { x: labelW, y: y + 2, height: rowH - 6, width: Math.max(1, (v / 100) * (width - labelW - 50)), fill: COLORS[Math.floor(i / 2) % COLORS.length], class: "bar" }, null, SVG),
               el("text", { x: labelW + (v / 100) * (width - labelW - 50) + 4, y: y + 14 }, v.toFixed(1), SVG));
  });
  box.append(svg);
}

// ---- Review tab (ovmer serve --corpus DIR) ----
let reviewItems = [];
let reviewSelected = null;

async function loadReview() {
  showError("review", "");
  try {
    const queue = await callApi("/v1/review/items?status=" + $("review-filter").value, undefined, { method: "GET" });
    reviewItems = queue.items;
    const c = queue.counts;
    $("review-counts").textContent = `${queue.corpus}: ${c.pending} pending, ${c.accepted} accepted, ${c.edited} edited, ${c.rejected} rejected`;
    $("review-list").replaceChildren(...reviewItems.map((item) => {
      const button = el("button", { type: "button", "data-name": item.name }, item.name);
      button.append(el("span", { class: "badge " + item.status }, item.status));
      button.addEventListener("click", () => selectReview(item.name));
      const li = el("li");
      li.append(button);
      return li;
    }));
    if (reviewSelected && reviewItems.some((i) => i.name === reviewSelected)) selectReview(reviewSelected, false);
  } catch (err) {
    showError("review", err.message);
  }
}

async function selectReview(name, reloadVideo = true) {
  const item = reviewItems.find((i) => i.name === name);
  if (!item) return;
  reviewSelected = name;
  for (const b of $("review-list").querySelectorAll("button")) b.setAttribute("aria-current", String(b.dataset.name === name));
  $("review-name").textContent = item.name;
  $("review-audio-clue").textContent = item.audio_clue || "–";
  $("review-visual-clue").textContent = item.visual_clue || "–";
  $("review-subtitle").textContent = item.subtitle || "–";
  $("review-description").textContent = item.description || "";
  $("review-labels").replaceChildren(...item.labels.map((l) => el("li", {}, l)));
  $("review-verdict").textContent = item.kept === null ? "not filtered yet" : item.kept ? "kept" : `removed at ${item.stage}: ${item.reason}`;
  const d = item.decision;
  $("review-decision").textContent = d ? `${item.status} by ${d.reviewer} at ${d.time}` + (d.labels ? ` (${d.labels.join(", ")})` : "") : "pending";
  $("review-edit-labels").value = (d && d.labels ? d.labels : item.labels).join(", ");
  $("review-detail").hidden = false;
  if (reloadVideo) await loadReviewVideo(item);
}

// The video comes through fetch (it may need the API key, which a <video src> cannot send) as a blob: URL.
async function loadReviewVideo(item) {
  const video = $("review-video");
  if (video.src) URL.revokeObjectURL(video.src);
  video.removeAttribute("src");
  if (!item.video_url) return;
  try {
    const response = await fetch(item.video_url, { headers: keyHeaders() });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    video.src = URL.createObjectURL(await response.blob());
  } catch (err) {
    showError("review", `Could not load the clip's video (${err.message}).`);
  }
}

async function review(decision) {
  showError("review", "");
  const reviewer = $("reviewer").value.trim();
  if (!reviewer) { showError("review", "Enter your name as reviewer first."); return; }
  localStorage.setItem("ovmer-reviewer", reviewer);
  const body = { decision, reviewer };
  if (decision === "edit") body.labels = $("review-edit-labels").value.split(",").map((l) => l.trim()).filter(Boolean);
  try {
    const row = await callApi(`/v1/review/items/${encodeURIComponent(reviewSelected)}/decision`, undefined, { json: body });
    $("review-status").textContent = `${row.name}: ${row.decision} saved.`;
    await loadReview();
  } catch (err) {
    showError("review", err.message);
  }
}

function initReview() {
  $("reviewer").value = localStorage.getItem("ovmer-reviewer") || "";
  $("review-filter").addEventListener("change", loadReview);
  $("review-accept").addEventListener("click", () => review("accept"));
  $("review-reject").addEventListener("click", () => review("reject"));
  $("review-edit").addEventListener("click", () => review("edit"));
}

// ---- wiring ----
function selectTab(button) {
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const on = tab === button;
    tab.setAttribute("aria-selected", String(on));
    $(tab.dataset.panel).hidden = !on;
  }
}

async function init() {
  for (const tab of document.querySelectorAll('[role="tab"]')) tab.addEventListener("click", () => selectTab(tab));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) describe(e.dataTransfer.files[0]);
  });
  $("video").addEventListener("change", () => describe($("video").files[0]));
  $("score-form").addEventListener("submit", score);
  initReview();
  try {
    const health = await (await fetch("/healthz")).json();
    limits = health.limits;
    $("model").textContent = `model ${health.model} · uploads up to ${limits.max_upload_mb} MiB`;
    $("key-box").hidden = !health.api_key_required;
    $("dataset").replaceChildren(...health.datasets.map((d) => el("option", { value: d }, d)));
    $("tab-review").hidden = !health.review;
    if (health.review) loadReview();
  } catch (err) {
    $("model").textContent = "server unreachable";
  }
  document.body.dataset.ready = "true";
}

document.addEventListener("DOMContentLoaded", init);
