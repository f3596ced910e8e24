// dlkit's webcam page: the camera's frames classified by the server over a WebSocket, one frame
// in flight at a time, or in this browser by onnxruntime-web on the model's ONNX export.
// Plain ES module, no bundler. Options come from the URL fragment (never sent to the server):
//   #token=SECRET   the server's bearer token (fetch header, WebSocket subprotocol bearer.SECRET)
//   &model=NAME     the model to start with;  &local=1  start in the in-browser mode
// For tests and curious users the page's state is on window.dlkitState:
//   { mode: 'server' | 'browser', model, predictions: [{label, score}], fps, latencyMs, frames, error }
// where frames counts the answers so far (both modes), fps is answers per second over the last
// two seconds and latencyMs the last frame's round trip: from sending its JPEG to the server's
// answer (server mode), or from reading the video frame to the scores (browser mode).

import { areaResizeChw } from './resize.js';

const TOP = 5;
const MAX_CAPTURE_WIDTH = 640;
const JPEG_QUALITY = 0.9;

const $ = (id) => document.getElementById(id);
const video = $('video');
const select = $('model');
const localBox = $('local');
const labelsEl = $('labels');

const fragment = new URLSearchParams(location.hash.slice(1));
const token = fragment.get('token');
const authHeaders = token ? { authorization: `Bearer ${token}` } : {};

const state = { mode: fragment.get('local') === '1' ? 'browser' : 'server', model: null, predictions: [], fps: 0, latencyMs: null, frames: 0, error: null };
window.dlkitState = state;

/** The served models by name: {name, classes, inputSize, outputsProbabilities?}. */
const models = new Map();
// Bumped on every model or mode switch: a loop that sees another value stops.
let generation = 0;
let answeredAt = [];

function message(text, isError = false) {
  const el = $('message');
  el.textContent = text;
  el.classList.toggle('error', isError);
  if (isError) state.error = text;
}

function show(predictions, latencyMs) {
  const now = performance.now();
  answeredAt.push(now);
  answeredAt = answeredAt.filter((t) => now - t <= 2000);
  state.fps = answeredAt.length > 1 ? (answeredAt.length - 1) / ((now - answeredAt[0]) / 1000) : 0;
  state.latencyMs = latencyMs;
  state.predictions = predictions;
  state.frames++;
  labelsEl.replaceChildren(...predictions.map((p) => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.textContent = p.label;
    const score = document.createElement('span');
    score.textContent = `${(p.score * 100).toFixed(1)}%`;
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.style.width = `${Math.max(1, p.score * 100)}%`;
    li.append(name, score, bar);
    return li;
  }));
  $('fps').textContent = `${state.fps.toFixed(1)} frames/s`;
  $('latency').textContent = `${latencyMs.toFixed(0)} ms`;
}

function resetStats() {
  answeredAt = [];
  state.predictions = [];
  state.fps = 0;
  state.latencyMs = null;
  state.error = null;
  labelsEl.replaceChildren();
  $('fps').textContent = '– frames/s';
  $('latency').textContent = '– ms';
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const videoReady = () => video.readyState >= 2 && video.videoWidth > 0;

// ---- camera --------------------------------------------------------------------------------

async function startCamera() {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error('this browser offers no camera to this page: cameras need https, or http://localhost');
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  } catch (err) {
    const reason = {
      NotAllowedError: 'camera access was denied: allow the camera for this page and reload',
      SecurityError: 'camera access was denied: allow the camera for this page and reload',
      NotFoundError: 'no camera found: connect one and reload',
      OverconstrainedError: 'no camera found that can deliver video',
      NotReadableError: 'the camera cannot be opened (is another program using it?)',
    }[err.name];
    throw new Error(reason ?? `the camera cannot be opened: ${err.name}: ${err.message}`);
  }
  for (const track of stream.getVideoTracks()) {
    track.addEventListener('ended', () => message('the camera stopped (unplugged or taken by another program): reload to restart it', true));
  }
  video.srcObject = stream;
  await video.play();
}

// ---- server mode: frames over the WebSocket ------------------------------------------------

const captureCanvas = document.createElement('canvas');

/** The current video frame as JPEG bytes, or null while the video has no frame yet. */
async function captureJpeg() {
  if (!videoReady()) return null;
  const scale = Math.min(1, MAX_CAPTURE_WIDTH / video.videoWidth);
  captureCanvas.width = Math.round(video.videoWidth * scale);
  captureCanvas.height = Math.round(video.videoHeight * scale);
  captureCanvas.getContext('2d').drawImage(video, 0, 0, captureCanvas.width, captureCanvas.height);
  const blob = await new Promise((resolve) => captureCanvas.toBlob(resolve, 'image/jpeg', JPEG_QUALITY));
  return blob ? blob.arrayBuffer() : null;
}

let socket = null;
let backoffMs = 500;

function runServer(gen) {
  const url = new URL('/v1/stream', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('model', state.model);
  url.searchParams.set('top', String(TOP));
  const ws = new WebSocket(url, ['dlkit.v1', ...(token ? [`bearer.${token}`] : [])]);
  ws.binaryType = 'arraybuffer';
  socket = ws;
  let sentAt = 0;
  const live = () => gen === generation && socket === ws && ws.readyState === WebSocket.OPEN;

  // One frame in flight: the next is captured only when the previous one's answer is here.
  async function sendFrame() {
    while (live()) {
      const bytes = await captureJpeg();
      if (!live()) return;
      if (bytes) {
        sentAt = performance.now();
        ws.send(bytes);
        return;
      }
      await sleep(50);
    }
  }

  ws.onopen = () => {
    backoffMs = 500;
    message('');
    void sendFrame();
  };
  ws.onmessage = (ev) => {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      message(`the server sent something that is not JSON: ${String(ev.data).slice(0, 80)}`, true);
      return;
    }
    if (msg.predictions) {
      show(msg.predictions, performance.now() - sentAt);
      nextFrame().then(sendFrame);
    } else if (msg.error) {
      message(`server: ${msg.error}`, true);
      if (msg.retryAfterSeconds !== undefined) sleep(msg.retryAfterSeconds * 1000).then(sendFrame);
      else if (!msg.busy) sleep(200).then(sendFrame);
    }
  };
  ws.onclose = (ev) => {
    if (socket !== ws) return;
    socket = null;
    if (gen !== generation) return;
    const why = ev.reason ? `: ${ev.reason}` : ev.code === 1006 ? ' (server unreachable or refused the connection)' : ` (code ${ev.code})`;
    message(`the connection to the server closed${why}; reconnecting in ${(backoffMs / 1000).toFixed(1)} s`, true);
    setTimeout(() => { if (gen === generation) runServer(gen); }, backoffMs);
    backoffMs = Math.min(backoffMs * 2, 10_000);
  };
}

// ---- browser mode: onnxruntime-web on the model's ONNX export ------------------------------

let ort = null;
const sessions = new Map(); // model name -> {session, probabilities}

async function loadSession(name) {
  if (sessions.has(name)) return sessions.get(name);
  if (!ort) {
    ort = await import('/page/ort/ort.wasm.min.mjs');
    // One thread: no SharedArrayBuffer, so no cross-origin isolation headers needed.
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.wasmPaths = new URL('/page/ort/', location.href).href;
  }
  const res = await fetch(`/v1/models/${encodeURIComponent(name)}/model.onnx`, { headers: authHeaders });
  if (!res.ok) {
    let detail = res.statusText;
    try { detail = (await res.json()).error ?? detail; } catch { /* not JSON */ }
    throw new Error(`GET model.onnx answered ${res.status}: ${detail}`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  const header = res.headers.get('x-dlkit-output');
  const entry = { session, probabilities: header ? header === 'probabilities' : models.get(name)?.outputsProbabilities === true };
  sessions.set(name, entry);
  return entry;
}

const frameCanvas = document.createElement('canvas');

/**
 * The video frame at the model's input size as float32 [1, C, H, W] pixels in 0–255: the frame at
 * its own size from a canvas, then area-averaged by resize.js (not drawImage's browser-specific
 * filter, and not sharp's Lanczos as on the server, so scores differ slightly between the modes).
 */
function inputPixels([c, h, w]) {
  const fw = video.videoWidth, fh = video.videoHeight;
  if (frameCanvas.width !== fw || frameCanvas.height !== fh) {
    frameCanvas.width = fw;
    frameCanvas.height = fh;
  }
  const ctx = frameCanvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, fw, fh);
  return areaResizeChw(ctx.getImageData(0, 0, fw, fh).data, fw, fh, 4, c, w, h);
}

function topOf(scores, probabilities, classes) {
  let p = Array.from(scores);
  if (!probabilities) {
    const max = Math.max(...p);
    const e = p.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    p = e.map((v) => v / sum);
  }
  return p.map((score, i) => ({ label: classes[i] ?? String(i), score }))
    .sort((a, b) => b.score - a.score).slice(0, TOP);
}

async function runBrowser(gen) {
  const info = models.get(state.model);
  message(`loading ${info.name} into this browser…`);
  let entry;
  try {
    entry = await loadSession(info.name);
  } catch (err) {
    if (gen === generation) message(`the model '${info.name}' failed to load in this browser: ${err.message}`, true);
    return;
  }
  if (gen !== generation) return;
  message('');
  const { session, probabilities } = entry;
  const [c, h, w] = info.inputSize;
  while (gen === generation) {
    await nextFrame();
    if (!videoReady()) continue;
    const t0 = performance.now();
    const input = new ort.Tensor('float32', inputPixels(info.inputSize), [1, c, h, w]);
    let out;
    try {
      out = await session.run({ [session.inputNames[0]]: input });
    } catch (err) {
      message(`in-browser inference failed: ${err.message}`, true);
      return;
    }
    if (gen !== generation) return;
    show(topOf(out[session.outputNames[0]].data, probabilities, info.classes), performance.now() - t0);
  }
}

// ---- wiring --------------------------------------------------------------------------------

function start() {
  const gen = ++generation;
  if (socket) {
    const old = socket;
    socket = null;
    old.close();
  }
  resetStats();
  $('mode').textContent = state.mode === 'browser' ? 'in this browser' : 'server';
  $('mode').classList.toggle('local', state.mode === 'browser');
  if (state.mode === 'browser') void runBrowser(gen);
  else runServer(gen);
}

async function loadModels() {
  let res;
  try {
    res = await fetch('/v1/models', { headers: authHeaders });
  } catch (err) {
    throw new Error(`the server cannot be reached: ${err.message}`);
  }
  if (res.status === 401 || res.status === 403) {
    throw new Error(token ? 'the server refused the token in the address (#token=…)' : 'the server needs a token: open this page as /#token=YOUR_TOKEN');
  }
  if (!res.ok) throw new Error(`GET /v1/models answered ${res.status} ${res.statusText}`);
  const body = await res.json();
  for (const m of body.models) models.set(m.name, m);
  if (models.size === 0) throw new Error('the server serves no models');
  select.replaceChildren(...[...models.keys()].map((name) => new Option(name, name)));
  const wanted = fragment.get('model');
  state.model = wanted && models.has(wanted) ? wanted : models.keys().next().value;
  select.value = state.model;
}

async function main() {
  try {
    await loadModels();
  } catch (err) {
    message(err.message, true);
    return;
  }
  select.disabled = false;
  localBox.disabled = false;
  localBox.checked = state.mode === 'browser';
  select.addEventListener('change', () => { state.model = select.value; start(); });
  localBox.addEventListener('change', () => { state.mode = localBox.checked ? 'browser' : 'server'; start(); });
  try {
    await startCamera();
  } catch (err) {
    message(err.message, true);
    return;
  }
  start();
}

void main();
