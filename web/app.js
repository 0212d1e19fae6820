// The browser app's page: the UI, the camera and the canvases. The network, the optimiser and the
// GPU live in worker.js; frames go there and come back as RGBA, so the page never blocks.
const $ = (id) => document.getElementById(id);
const fmt = (x) => (x === undefined || x === null ? '–' : Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-2 && x !== 0) ? x.toExponential(3) : x.toFixed(3));

// ---- what happens, for people and for the tests (window.burnish is read by web/tests/app.mjs)
const state = { ready: false, styles: [], style: null, adapter: null, camera: null, frames: 0, optimise: null, errors: [] };
window.burnish = state;
function status(text, kind = 'info') {
  const s = $('status');
  s.hidden = !text;
  s.textContent = text || '';
  s.className = `banner ${kind}`;
  if (kind === 'error') state.errors.push(text);
}

// ---- no WebGPU: say so, with what to do
function noWebGpu(detail) {
  const b = $('nowebgpu');
  b.hidden = false;
  b.innerHTML = '<h2>This browser has no WebGPU, which burnish needs.</h2>' +
    '<p>Use a browser with WebGPU: Chrome or Edge 113 or later on Windows, macOS or ChromeOS (on Linux, start Chrome with ' +
    '<code>--enable-unsafe-webgpu</code> or turn on <code>chrome://flags/#enable-unsafe-webgpu</code>), Safari 26 or later, ' +
    'or Firefox 141 or later on Windows. If it is on and this still shows, the GPU may be blocked: check <code>chrome://gpu</code>.</p>' +
    `<p><small>${detail}</small></p>`;
  status('');
  document.querySelector('main').hidden = true;
  $('tabs').hidden = true;
  state.noWebGpu = detail;
}

// ---- the worker
const worker = new Worker('./worker.js', { type: 'module' });
let nextId = 1;
const pending = new Map();
function call(type, data = {}, transfer = []) {
  const id = nextId++;
  worker.postMessage({ id, type, ...data }, transfer);
  return new Promise((ok, fail) => pending.set(id, { ok, fail }));
}
state.call = call; // for the benchmark (web/tests/bench.mjs): the worker's requests, as the UI makes them
worker.onerror = (e) => status(`the worker failed: ${e.message || 'could not load (is web/pkg built?)'}`, 'error');
worker.onmessage = (e) => {
  const m = e.data;
  if (m.id) {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.ok) p.ok(m.result); else p.fail(new Error(m.error));
  } else if (m.type === 'download') showDownload(m);
  else if (m.type === 'optimise-progress') optimiseProgress(m);
  else if (m.type === 'optimise-paused') {
    state.optimise.parked = true;
    $('opt-readout').textContent += ' · paused';
  } else if (m.type === 'optimise-done') optimiseDone(m);
};

function showDownload(m) {
  const box = $('downloads');
  if (m.done) {
    $('download-label').textContent = `${m.label}: ${(m.total / 1e6).toFixed(1)} MB ${m.cached ? 'from the cache' : 'downloaded, cached for next time'}`;
    $('download-bar').style.width = '100%';
    setTimeout(() => { box.style.display = 'none'; }, 2500);
  } else {
    box.style.display = 'block';
    const pct = m.total ? (100 * m.loaded) / m.total : 0;
    $('download-label').textContent = `fetching ${m.label}: ${(m.loaded / 1e6).toFixed(1)}${m.total ? ` of ${(m.total / 1e6).toFixed(1)}` : ''} MB`;
    $('download-bar').style.width = `${pct}%`;
  }
  box.style.display = 'block';
}

// ---- images: decode without colour conversion, so pixels are the file's
async function decodeImage(blob) {
  return createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
}
// RGBA pixels of `source` (an ImageBitmap or a video) scaled to width x height, through one
// scratch canvas (the webcam calls this every frame).
let scratch = null;
function pixels(source, width, height) {
  if (!scratch) scratch = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (scratch.canvas.width !== width || scratch.canvas.height !== height) {
    scratch.canvas.width = width;
    scratch.canvas.height = height;
  }
  scratch.drawImage(source, 0, 0, width, height);
  return scratch.getImageData(0, 0, width, height);
}
function fit(w, h, maxSide) {
  const s = Math.min(1, maxSide / Math.max(w, h));
  return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
}
function show(canvas, rgba, width, height) {
  // Resizing a canvas reallocates and clears it: only when the size changes.
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
}
function download(canvas, name) {
  canvas.toBlob((blob) => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }, 'image/png');
}
function dropTarget(el, onFile) {
  el.addEventListener('dragover', (e) => { e.preventDefault(); el.classList.add('over'); });
  el.addEventListener('dragleave', () => el.classList.remove('over'));
  el.addEventListener('drop', (e) => {
    e.preventDefault();
    el.classList.remove('over');
    const f = e.dataTransfer.files[0];
    if (f) onFile(f);
  });
}
// An image slot (thumbnail + file input + drop): resolves its current image as an ImageBitmap.
function imageSlot(dropId, fileId, thumbId, defaultUrl) {
  let blob = null;
  const set = (f) => { blob = f; $(thumbId).src = URL.createObjectURL(f); };
  $(fileId).addEventListener('change', (e) => e.target.files[0] && set(e.target.files[0]));
  dropTarget($(dropId), set);
  return async () => {
    const b = blob || await (await fetch(defaultUrl)).blob();
    try {
      return await decodeImage(b);
    } catch {
      throw new Error(`${b.name || defaultUrl} is not an image this browser can read`);
    }
  };
}

// ---- modes
let mode = 'webcam';
function setMode(m) {
  if (m !== 'webcam') stopCamera();
  mode = m;
  for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('on', b.dataset.mode === m);
  $('mode-webcam').classList.toggle('on', m === 'webcam');
  $('mode-photo').classList.toggle('on', m === 'photo');
  $('mode-optimise').classList.toggle('on', m === 'transfer' || m === 'texture');
  $('style-picker').hidden = !state.ready || !(m === 'webcam' || m === 'photo');
  $('content-drop').hidden = m === 'texture';
  $('optimise-about').textContent = m === 'texture'
    ? 'Texture synthesis: an image with the style\'s textures, optimised from noise through VGG19 (L-BFGS; Gatys et al. 2015).'
    : 'Optimisation-based transfer: the content image repainted in the style, optimised pixel by pixel through VGG19 (L-BFGS; Gatys et al. 2016).';
  state.mode = m;
}
for (const b of document.querySelectorAll('#tabs button')) b.addEventListener('click', () => setMode(b.dataset.mode));

// ---- the style picker (webcam and photo)
const post = () => ({ strength: Number($('strength').value), preserveColour: $('preserve').checked });
$('strength').addEventListener('input', () => { $('strength-value').textContent = Number($('strength').value).toFixed(2); });
async function chooseStyle(name) {
  const s = state.styles.find((x) => x.name === name);
  for (const b of $('styles').children) b.classList.toggle('on', b.dataset.name === name);
  await call('style', { name, file: s.file });
  state.style = name;
  if (mode === 'photo' && photoDone) stylizePhoto();
}
function buildPicker() {
  for (const s of state.styles) {
    const b = document.createElement('button');
    b.dataset.name = s.name;
    b.title = s.title;
    b.innerHTML = `<img src="pkg/styles/${s.preview}" alt=""><span>${s.name}</span>`;
    b.addEventListener('click', () => chooseStyle(s.name).catch((e) => status(String(e.message), 'error')));
    $('styles').append(b);
  }
}

// ---- webcam
const TARGET_FPS = 15;
const SIZES = [96, 128, 160, 192, 256, 320, 384, 448, 512, 640];
let cam = null; // { stream, running, size (auto), recent latencies }
async function startCamera() {
  if (!state.ready) return;
  if (!navigator.mediaDevices?.getUserMedia) {
    status('This page cannot use a camera here (no navigator.mediaDevices: it needs https or localhost).', 'error');
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  } catch (e) {
    const why = e.name === 'NotAllowedError' ? 'the camera was refused: allow it in the address bar\'s site settings and press Start again'
      : e.name === 'NotFoundError' || e.name === 'OverconstrainedError' ? 'no camera was found: connect one and press Start again (Photo mode works without one)'
        : `the camera could not start (${e.name}: ${e.message})`;
    status(`Webcam: ${why}.`, 'error');
    state.camera = { error: e.name };
    return;
  }
  const video = $('cam-video');
  video.srcObject = stream;
  await video.play();
  cam = { stream, running: true, size: 128, latencies: [], shown: [] };
  state.camera = { running: true };
  $('cam-start').disabled = true;
  $('cam-stop').disabled = false;
  $('cam-snapshot').disabled = false;
  status('');
  camLoop(cam);
}
function stopCamera() {
  if (!cam) return;
  cam.running = false;
  for (const t of cam.stream.getTracks()) t.stop();
  cam = null;
  state.camera = { running: false };
  $('cam-start').disabled = false;
  $('cam-stop').disabled = true;
}
async function camLoop(c) {
  const video = $('cam-video');
  const out = $('cam-out');
  while (c.running) {
    const choice = $('cam-size').value;
    const side = choice === 'auto' ? c.size : Number(choice);
    // The network halves and doubles twice: sides a multiple of 4 come back the same size.
    let [w, h] = fit(video.videoWidth || 640, video.videoHeight || 480, side);
    w = Math.max(4, w - (w % 4));
    h = Math.max(4, h - (h % 4));
    const frame = pixels(video, w, h);
    const t0 = performance.now();
    const style = state.style;
    let r;
    try {
      r = await call('stylize', { name: style, rgba: frame.data.buffer, width: w, height: h, ...post() }, [frame.data.buffer]);
    } catch (e) {
      status(`Webcam: ${e.message}`, 'error');
      stopCamera();
      return;
    }
    if (!c.running) return;
    const latency = performance.now() - t0;
    // Shown at the camera's aspect, the canvas scaled up by CSS.
    show(out, r.rgba, w, h);
    out.style.width = '640px';
    state.frames += 1;
    state.lastFrameStyle = style;
    c.latencies.push(latency);
    c.shown.push(performance.now());
    // The rate over the last 10 frames, or the last 2 s when that holds more.
    while (c.shown.length > 10 && c.shown[0] < performance.now() - 2000) c.shown.shift();
    if (c.latencies.length > 5) c.latencies.shift();
    const fps = c.shown.length > 1 ? (1000 * (c.shown.length - 1)) / (c.shown[c.shown.length - 1] - c.shown[0]) : 0;
    if (choice === 'auto' && c.latencies.length === 5) {
      const mean = c.latencies.reduce((a, b) => a + b, 0) / 5;
      const i = SIZES.indexOf(c.size);
      if (mean > 1.25 * (1000 / TARGET_FPS) && i > 0) { c.size = SIZES[i - 1]; c.latencies = []; }
      else if (mean < 0.55 * (1000 / TARGET_FPS) && i < SIZES.length - 1) { c.size = SIZES[i + 1]; c.latencies = []; }
    }
    $('cam-readout').textContent = `${style} · ${w}×${h}${choice === 'auto' ? ' (auto)' : ''} · ${fps.toFixed(1)} fps · latency ${latency.toFixed(0)} ms (network ${r.ms.toFixed(0)} ms)`;
    state.fps = fps;
  }
}
$('cam-start').addEventListener('click', startCamera);
$('cam-stop').addEventListener('click', stopCamera);
$('cam-snapshot').addEventListener('click', () => download($('cam-out'), `burnish-webcam-${state.style}.png`));

// ---- photo
const photo = imageSlot('photo-drop', 'photo-file', 'photo-thumb', 'assets/bunny.jpg');
let photoDone = false;
async function stylizePhoto() {
  $('photo-go').disabled = true;
  try {
    const bmp = await photo();
    const [w, h] = fit(bmp.width, bmp.height, Number($('photo-size').value));
    const frame = pixels(bmp, w, h);
    $('photo-readout').textContent = `stylizing ${w}×${h} with ${state.style}…`;
    const r = await call('stylize', { name: state.style, rgba: frame.data.buffer, width: w, height: h, ...post() }, [frame.data.buffer]);
    show($('photo-out'), r.rgba, w, h);
    $('photo-out').style.width = `${Math.max(w, 480)}px`; // small photos shown larger, full size in the download
    $('photo-readout').textContent = `${state.style} · ${w}×${h} · ${r.ms.toFixed(0)} ms`;
    $('photo-download').disabled = false;
    photoDone = true;
    state.photo = { style: state.style, width: w, height: h, ms: r.ms };
  } catch (e) {
    status(`Photo: ${e.message}`, 'error');
  } finally {
    $('photo-go').disabled = false;
  }
}
$('photo-go').addEventListener('click', stylizePhoto);
$('photo-download').addEventListener('click', () => download($('photo-out'), `burnish-${state.style}.png`));

// ---- optimisation and texture synthesis
const content = imageSlot('content-drop', 'content-file', 'content-thumb', 'assets/bunny.jpg');
const styleImage = imageSlot('style-drop', 'style-file', 'style-thumb', 'assets/starry_night.jpg');
async function startOptimise() {
  const size = Number($('opt-size').value);
  const evaluations = Math.max(1, Math.min(5000, Number($('opt-evals').value) || 300));
  // The images go at most `size` on their longer side; the worker's resize keeps the aspect.
  const grab = async (slot) => {
    const bmp = await slot();
    const [w, h] = fit(bmp.width, bmp.height, size);
    const p = pixels(bmp, w, h);
    return { rgba: p.data.buffer, width: w, height: h };
  };
  try {
    const s = await grab(styleImage);
    const c = mode === 'transfer' ? await grab(content) : null;
    state.optimise = { mode, evaluations: 0, total: evaluations, history: [], previews: 0, done: false };
    $('opt-start').disabled = true;
    $('opt-readout').textContent = 'preparing (the first run fetches the VGG19 weights, 40 MB)…';
    const transfer = [s.rgba, ...(c ? [c.rgba] : [])];
    await call('optimise', { mode, content: c, style: s, size, evaluations }, transfer);
    $('opt-pause').disabled = false;
    $('opt-stop').disabled = false;
    $('opt-pause').textContent = 'Pause';
  } catch (e) {
    $('opt-start').disabled = false;
    status(`${mode === 'texture' ? 'Texture' : 'Optimise'}: ${e.message}`, 'error');
  }
}
function optimiseProgress(m) {
  const o = state.optimise;
  o.history.push(...m.losses);
  o.evaluations = m.evaluations;
  o.previews += 1;
  o.parked = false;
  show($('opt-out'), m.image.rgba, m.image.width, m.image.height);
  $('opt-out').style.width = `${Math.max(256, m.image.width)}px`;
  $('opt-bar').style.width = `${(100 * m.evaluations) / m.total}%`;
  const last = o.history[o.history.length - 1] || {};
  const rate = m.evaluations / Math.max(m.seconds, 1e-3);
  const eta = (m.total - m.evaluations) / Math.max(rate, 1e-6);
  $('opt-readout').textContent = `evaluation ${m.evaluations}/${m.total} · loss ${fmt(last.total)} (style ${fmt(last.style)}${o.mode === 'transfer' ? `, content ${fmt(last.content)}` : ''}) · ` +
    `${rate.toFixed(1)} eval/s · ETA ${eta.toFixed(0)} s`;
  drawCurve(o.history);
  $('opt-download').disabled = false;
}
function optimiseDone(m) {
  const o = state.optimise;
  o.done = true;
  o.stopped = m.stopped;
  o.seconds = m.seconds;
  $('opt-start').disabled = false;
  $('opt-pause').disabled = true;
  $('opt-stop').disabled = true;
  if (m.error) status(`${o.mode === 'texture' ? 'Texture' : 'Optimise'}: ${m.error}`, 'error');
  else $('opt-readout').textContent += m.stopped ? ' · stopped' : ` · done in ${m.seconds.toFixed(1)} s`;
}
function drawCurve(history) {
  const c = $('opt-curve');
  const g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  g.strokeStyle = '#ccc';
  g.strokeRect(0.5, 0.5, c.width - 1, c.height - 1);
  const series = [['total', '#1d1d1f'], ['style', '#c2410c'], ['content', '#2563eb']];
  const vals = history.flatMap((l) => series.map(([k]) => l[k]).filter((v) => v > 0));
  if (vals.length < 2) return;
  const lo = Math.log10(Math.min(...vals));
  const hi = Math.log10(Math.max(...vals));
  const n = Math.max(history.length - 1, 1);
  for (const [k, colour] of series) {
    g.strokeStyle = colour;
    g.beginPath();
    let started = false;
    history.forEach((l, i) => {
      if (!(l[k] > 0)) return;
      const x = 4 + ((c.width - 8) * i) / n;
      const y = c.height - 4 - ((c.height - 8) * (Math.log10(l[k]) - lo)) / Math.max(hi - lo, 1e-9);
      if (started) g.lineTo(x, y); else { g.moveTo(x, y); started = true; }
    });
    g.stroke();
  }
  g.fillStyle = '#6b6b70';
  g.font = '11px monospace';
  g.fillText(`1e${hi.toFixed(1)}`, 6, 14);
  g.fillText(`1e${lo.toFixed(1)}`, 6, c.height - 8);
}
$('opt-start').addEventListener('click', startOptimise);
$('opt-pause').addEventListener('click', () => {
  const paused = $('opt-pause').textContent === 'Pause';
  worker.postMessage({ type: paused ? 'pause' : 'resume' });
  $('opt-pause').textContent = paused ? 'Resume' : 'Pause';
});
$('opt-stop').addEventListener('click', () => worker.postMessage({ type: 'stop' }));
$('opt-download').addEventListener('click', () => download($('opt-out'), `burnish-${state.optimise?.mode || 'result'}.png`));

// ---- start
async function main() {
  if ('serviceWorker' in navigator) {
    // The app shell for offline use (weights are cached by the worker).
    navigator.serviceWorker.register('./sw.js').catch((e) => console.warn('no offline copy:', e.message));
  }
  if (!navigator.gpu) {
    noWebGpu('navigator.gpu is missing.');
    return;
  }
  status('starting WebGPU…');
  let started;
  try {
    started = await call('start');
  } catch (e) {
    noWebGpu(`No WebGPU adapter or device: ${e.message}`);
    return;
  }
  state.adapter = started.adapter;
  state.styles = started.styles;
  buildPicker();
  // The thumbnails for offline visits (the service worker falls back to any cache).
  if (window.caches) caches.open('burnish-previews-v1').then((c) => c.addAll(state.styles.map((x) => `pkg/styles/${x.preview}`))).catch(() => {});
  await chooseStyle(state.styles[0].name);
  state.ready = true;
  setMode(mode);
  status(`ready on ${started.adapter.name || 'WebGPU'}${started.adapter.device_type === 'Cpu' ? ' (a software adapter: expect it to be slow)' : ''}. ` +
    'Webcam: press Start camera. Photo: drop a photo. Optimise and Texture run Gatys optimisation in the page.');
}
setMode('webcam');
main().catch((e) => status(String(e.message || e), 'error'));
