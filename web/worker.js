// The app's worker: the wasm module and the WebGPU device live here, so the page never waits on
// the GPU. Messages in: {id, type, ...}; every request is answered {id, ok, result | error}.
// Unprompted messages out: {type: 'download', ...} (weights), {type: 'optimise-progress' | 'optimise-paused' | 'optimise-done'}.
import init, * as burnish from './pkg/burnish_web.js';

// Weights are fetched once and kept in the Cache API, so a second visit works offline.
const WEIGHTS_CACHE = 'burnish-weights-v1';
const loadedStyles = new Set();
let vggLoaded = false;
let run = null; // the optimisation in progress: { paused, stopped, wake }

const post = (m, transfer = []) => self.postMessage(m, transfer);

async function fetchWeights(url, label) {
  const cache = await caches.open(WEIGHTS_CACHE);
  const hit = await cache.match(url);
  if (hit) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    post({ type: 'download', label, loaded: bytes.length, total: bytes.length, cached: true, done: true });
    return bytes;
  }
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`cannot fetch ${label} (${url}): ${e.message}; check the connection and reload`);
  }
  if (!response.ok) throw new Error(`cannot fetch ${label} (${url}): HTTP ${response.status}`);
  const total = Number(response.headers.get('content-length')) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  let last = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    if (performance.now() - last > 100) {
      post({ type: 'download', label, loaded, total });
      last = performance.now();
    }
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.length; }
  await cache.put(url, new Response(bytes, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(loaded) } }));
  post({ type: 'download', label, loaded, total: loaded, done: true });
  return bytes;
}

const handlers = {
  async start() {
    await init();
    const adapter = JSON.parse(await burnish.start());
    return { adapter, styles: JSON.parse(burnish.shipped_styles()) };
  },
  async style({ name, file }) {
    if (!loadedStyles.has(name)) {
      const bytes = await fetchWeights(`pkg/styles/${file}`, `the ${name} network`);
      await burnish.load_style(name, bytes);
      loadedStyles.add(name);
    }
    return { name };
  },
  async stylize({ name, rgba, width, height, strength, preserveColour }) {
    const t0 = performance.now();
    const out = await burnish.stylize(name, new Uint8Array(rgba), width, height, strength, preserveColour);
    return { rgba: out.buffer, width, height, ms: performance.now() - t0, transfer: [out.buffer] };
  },
  // For the benchmark: the convolution and instance-norm kernels on (the default) or off (burn's ops).
  async kernels({ on }) {
    burnish.set_kernels(on);
    return { on };
  },
  async optimise(m) {
    if (run) throw new Error('an optimisation is already running');
    if (!vggLoaded) {
      burnish.load_vgg(await fetchWeights('pkg/weights/vgg19-imagenet-conv.f16.safetensors', 'the VGG19 weights'));
      vggLoaded = true;
    }
    const c = m.content || { rgba: new ArrayBuffer(0), width: 0, height: 0 };
    await burnish.optimise_start(m.mode, new Uint8Array(c.rgba), c.width, c.height, new Uint8Array(m.style.rgba), m.style.width, m.style.height,
      m.size, m.evaluations);
    run = { paused: false, stopped: false, wake: null };
    loop(run); // reports through optimise-progress / optimise-done
    return {};
  },
};

async function loop(r) {
  const t0 = performance.now();
  let error = null;
  let stepMs = 0;
  try {
    for (;;) {
      if (r.stopped) break;
      if (r.paused) {
        post({ type: 'optimise-paused' });
        await new Promise((wake) => { r.wake = wake; });
        continue;
      }
      const s0 = performance.now();
      const step = JSON.parse(await burnish.optimise_step());
      stepMs += performance.now() - s0;
      const [width, height, rgba] = await burnish.optimise_image();
      post({ type: 'optimise-progress', ...step, seconds: stepMs / 1000, image: { width, height, rgba: rgba.buffer } }, [rgba.buffer]);
      if (!step.more) break;
    }
  } catch (e) {
    error = String(e.message || e);
  }
  burnish.optimise_stop();
  run = null;
  post({ type: 'optimise-done', stopped: r.stopped, error, seconds: (performance.now() - t0) / 1000 });
}

// Pause, resume and stop act at once (between optimiser steps); everything else is answered in turn.
let queue = Promise.resolve();
self.onmessage = (e) => {
  const m = e.data;
  if (m.type === 'pause' || m.type === 'resume' || m.type === 'stop') {
    if (run) {
      run.paused = m.type === 'pause';
      run.stopped ||= m.type === 'stop';
      if (!run.paused && run.wake) { run.wake(); run.wake = null; }
    }
    return;
  }
  queue = queue.then(async () => {
    try {
      const result = await handlers[m.type](m);
      const transfer = result.transfer || [];
      delete result.transfer;
      post({ id: m.id, ok: true, result }, transfer);
    } catch (err) {
      post({ id: m.id, ok: false, error: String(err.message || err) });
    }
  });
};
