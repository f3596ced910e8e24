// The webcam page: camera → JPEG frame → WebSocket → labels over the video. The next frame is
// sent only when the answer to the last one has arrived, so the frame rate follows what the
// server keeps up with and no backlog builds. "Run in this browser" downloads the model as ONNX
// and runs it with onnxruntime-web instead. A bearer token, if the server needs one, comes from
// the URL fragment (#token=…), which browsers never send to the server.
// window.dlkitState = { mode, model, predictions, fps, latencyMs, frames, error } (tests read it).

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.hash.slice(1)).get('token');
const headers = token ? { authorization: `Bearer ${token}` } : {};
const state = (window.dlkitState = { mode: 'server', model: null, predictions: [], fps: 0, latencyMs: 0, frames: 0, error: null });
let models = [];
let generation = 0; // bumped on every switch: loops of an older generation stop

function show(message) {
  state.error = message;
  $('message').textContent = message ?? '';
}

function draw(predictions, latencyMs) {
  state.predictions = predictions;
  state.latencyMs = latencyMs;
  state.frames++;
  const now = performance.now();
  state.times = [...(state.times ?? []), now].filter((t) => now - t < 2000);
  state.fps = state.times.length > 1 ? (state.times.length - 1) / ((now - state.times[0]) / 1000) : 0;
  $('labels').replaceChildren(...predictions.map((p) => {
    const li = document.createElement('li');
    li.textContent = `${p.label} ${(100 * p.score).toFixed(1)}%`;
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${Math.round(80 * p.score)}px`;
    li.append(bar);
    return li;
  }));
  $('fps').textContent = `${state.fps.toFixed(1)} frames/s`;
  $('latency').textContent = `${latencyMs.toFixed(0)} ms`;
}

const grab = document.createElement('canvas');
function jpegFrame(video) {
  grab.width = video.videoWidth;
  grab.height = video.videoHeight;
  grab.getContext('2d').drawImage(video, 0, 0);
  return new Promise((resolve) => grab.toBlob(resolve, 'image/jpeg', 0.9));
}

async function serverLoop(video, model, gen) {
  let delay = 250;
  while (gen === generation) {
    const protocols = ['dlkit.v1', ...(token ? [`bearer.${token}`] : [])];
    const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/v1/stream?model=${encodeURIComponent(model.name)}&top=5`, protocols);
    ws.binaryType = 'arraybuffer';
    const opened = await new Promise((resolve) => { ws.onopen = () => resolve(true); ws.onerror = () => resolve(false); });
    if (!opened) {
      show(`cannot reach the server's stream; retrying in ${(delay / 1000).toFixed(1)} s`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
      continue;
    }
    delay = 250;
    show(null);
    const closed = new Promise((resolve) => { ws.onclose = resolve; });
    while (gen === generation && ws.readyState === WebSocket.OPEN) {
      const blob = await jpegFrame(video);
      const t0 = performance.now();
      const answer = new Promise((resolve) => { ws.onmessage = (e) => resolve(JSON.parse(e.data)); ws.onclose = () => resolve(null); });
      ws.send(await blob.arrayBuffer());
      const msg = await answer;
      if (!msg) break;
      if (msg.error) {
        show(msg.error);
        if (msg.retryAfterSeconds) await new Promise((r) => setTimeout(r, 1000 * msg.retryAfterSeconds));
        continue;
      }
      show(null);
      draw(msg.predictions, performance.now() - t0);
    }
    ws.close();
    await closed;
    if (gen === generation) show('the stream closed; reconnecting');
  }
}

let ort = null;
async function browserLoop(video, model, gen) {
  try {
    ort ??= await import('/page/ort/ort.wasm.bundle.min.mjs');
    ort.env.wasm.numThreads = 1; // threads need cross-origin isolation (SharedArrayBuffer)
    ort.env.wasm.wasmPaths = '/page/ort/';
    const r = await fetch(`/v1/models/${encodeURIComponent(model.name)}/model.onnx`, { headers });
    if (!r.ok) throw new Error((await r.json()).error);
    const logits = r.headers.get('x-dlkit-outputs') !== 'probabilities';
    const session = await ort.InferenceSession.create(new Uint8Array(await r.arrayBuffer()), { executionProviders: ['wasm'] });
    const [c, h, w] = model.inputSize;
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    show(null);
    while (gen === generation) {
      const t0 = performance.now();
      // Resized by the canvas (bilinear), not by the server's sharp (lanczos3): labels can differ on borderline frames.
      ctx.drawImage(video, 0, 0, w, h);
      const rgba = ctx.getImageData(0, 0, w, h).data;
      const x = new Float32Array(c * h * w);
      for (let i = 0; i < h * w; i++) {
        if (c === 1) x[i] = 0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2];
        else for (let k = 0; k < 3; k++) x[k * h * w + i] = rgba[4 * i + k];
      }
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, c, h, w]) });
      let s = Array.from(out[session.outputNames[0]].data);
      if (logits) {
        const m = Math.max(...s);
        const e = s.map((v) => Math.exp(v - m));
        const z = e.reduce((a, b) => a + b, 0);
        s = e.map((v) => v / z);
      }
      const top = s.map((score, i) => ({ label: model.classes[i] ?? String(i), score })).sort((a, b) => b.score - a.score).slice(0, 5);
      draw(top, performance.now() - t0);
      await new Promise((r) => requestAnimationFrame(r));
    }
  } catch (err) {
    show(`the model cannot run in this browser: ${err.message}`);
  }
}

function start(video) {
  const gen = ++generation;
  const model = models.find((m) => m.name === $('model').value) ?? models[0];
  state.model = model.name;
  state.mode = $('inBrowser').checked ? 'browser' : 'server';
  state.frames = 0;
  state.times = [];
  $('mode').textContent = state.mode === 'browser' ? 'in this browser (onnxruntime-web)' : 'server';
  void (state.mode === 'browser' ? browserLoop(video, model, gen) : serverLoop(video, model, gen));
}

async function main() {
  try {
    const r = await fetch('/v1/models', { headers });
    if (r.status === 401) throw new Error('the server needs a token: open this page as /#token=<token>');
    if (!r.ok) throw new Error(`GET /v1/models answered ${r.status}`);
    models = (await r.json()).models;
    if (models.length === 0) throw new Error('the server has no models');
  } catch (err) {
    show(err.message);
    return;
  }
  $('model').replaceChildren(...models.map((m) => new Option(`${m.name} (${m.inputSize.join('×')}, ${m.classes.length} classes)`, m.name)));
  const video = $('video');
  try {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser gives no camera access here (it needs https or localhost)');
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    await video.play();
  } catch (err) {
    show(err.name === 'NotAllowedError' ? 'camera access was denied: allow it and reload' : err.name === 'NotFoundError' ? 'no camera found' : `no camera: ${err.message}`);
    return;
  }
  $('model').onchange = () => start(video);
  $('inBrowser').onchange = () => start(video);
  start(video);
}

void main();
