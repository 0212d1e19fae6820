// The browser app (web/index.html) in headless Chromium, served by web/serve.mjs on localhost:
//   1. a browser without WebGPU (Chromium without --enable-unsafe-webgpu: no adapter) shows the message;
//   2. photo mode stylizes a fixed PNG with the shipped scream-light network and matches the
//      native CLI's output of the same network (PSNR >= 40 dB);
//   3. a texture synthesis: paused it holds, resumed it goes on, stopped it ends; its style loss
//      falls and the preview updates;
//   4. webcam mode, with Chromium's fake camera fed from a still (y4m): stylized frames appear,
//      stay put while the style stays, and change when the style changes;
//   5. with the server gone, a reload still works (service worker + cached weights) and
//      stylizes the photo again.
//   node web/tests/app.mjs [--report out.json] [--evidence DIR]
// Needs web/pkg (tools/build-web.sh) and web/pkg/testdata (tools/browser-test.sh: the photo, the
// native result and the fake camera's y4m).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { serve, webRoot } from '../serve.mjs';

const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const evidence = arg('--evidence');
if (evidence) fs.mkdirSync(evidence, { recursive: true });
const testdata = path.join(webRoot, 'pkg', 'testdata');
for (const f of ['city_96x64.png', 'city_96x64_scream-light_native.png', 'camera.y4m']) {
  if (!fs.existsSync(path.join(testdata, f))) {
    console.error(`web/pkg/testdata/${f} is missing: run tools/browser-test.sh`);
    process.exit(2);
  }
}
const timeout = Number(process.env.BURNISH_WEB_TIMEOUT_S || 600) * 1000;
const report = { checks: {}, ok: false };
const failures = [];
const check = (name, ok, details) => {
  report.checks[name] = { ok, ...details };
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}: ${JSON.stringify(details)}`);
  if (!ok) failures.push(name);
};
const shot = async (page, name) => { if (evidence) await page.screenshot({ path: path.join(evidence, `browser-app-${name}.png`), fullPage: true }); };
const base = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

async function launch(args) {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnish-app-'));
  const context = await chromium.launchPersistentContext(userDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: [...base, ...args],
    viewport: { width: 1200, height: 900 }, acceptDownloads: true,
  });
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.error('page:', m.text()); });
  page.on('pageerror', (e) => console.error('page error:', String(e)));
  return { context, page, close: async () => { await context.close(); fs.rmSync(userDir, { recursive: true, force: true }); } };
}
const ready = (page) => page.waitForFunction(() => window.burnish?.ready || window.burnish?.noWebGpu || window.burnish?.errors.length, null, { timeout });

// PSNR (dB) of the photo canvas against the native CLI's PNG, in the page.
const psnrInPage = (page) => page.evaluate(async () => {
  const blob = await (await fetch('pkg/testdata/city_96x64_scream-light_native.png')).blob();
  const bmp = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const c = new OffscreenCanvas(bmp.width, bmp.height);
  const g = c.getContext('2d');
  g.drawImage(bmp, 0, 0);
  const ref = g.getImageData(0, 0, bmp.width, bmp.height).data;
  const out = document.getElementById('photo-out');
  if (out.width !== bmp.width || out.height !== bmp.height) return { error: `sizes differ: ${out.width}x${out.height} vs ${bmp.width}x${bmp.height}` };
  const got = out.getContext('2d').getImageData(0, 0, out.width, out.height).data;
  let se = 0; let max = 0; let n = 0;
  for (let i = 0; i < got.length; i++) {
    if (i % 4 === 3) continue;
    const d = got[i] - ref[i];
    se += d * d; max = Math.max(max, Math.abs(d)); n++;
  }
  const mse = se / n;
  return { psnr_db: mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse), max_abs_diff: max, values: n };
});

async function photoMode(page, label) {
  await page.click('#tabs button[data-mode="photo"]');
  await page.setInputFiles('#photo-file', path.join(testdata, 'city_96x64.png'));
  await page.evaluate(() => { window.burnish.photo = null; });
  await page.click('#photo-go');
  await page.waitForFunction(() => window.burnish.photo || window.burnish.errors.length, null, { timeout });
  const photo = await page.evaluate(() => window.burnish.photo);
  const cmp = await psnrInPage(page);
  check(label, !!photo && photo.style === 'scream-light' && cmp.psnr_db >= 40, { ...photo, ...cmp, errors: await page.evaluate(() => window.burnish.errors) });
  await shot(page, label);
}

// A hash-free comparison of the camera canvas: mean absolute difference of two RGBA captures.
const camPixels = (page) => page.evaluate(() => {
  const c = document.getElementById('cam-out');
  return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
});
const meanDiff = (a, b) => (a.length !== b.length ? Infinity : a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length);
const framesAfter = (page, n, style) => page.waitForFunction(([n, style]) => window.burnish.frames >= n && window.burnish.lastFrameStyle === style, [n, style], { timeout });

const t0 = Date.now();
const { server, url, stats } = await serve(0);
try {
  // 1. no WebGPU
  {
    const b = await launch([]);
    await b.page.goto(url);
    await ready(b.page);
    const msg = await b.page.evaluate(() => ({ shown: !document.getElementById('nowebgpu').hidden, text: document.getElementById('nowebgpu').innerText, detail: window.burnish.noWebGpu }));
    check('no-webgpu-message', msg.shown && /no WebGPU/.test(msg.text) && /enable-unsafe-webgpu/.test(msg.text), { detail: msg.detail });
    await shot(b.page, 'no-webgpu');
    await b.close();
  }

  const b = await launch(['--enable-unsafe-webgpu', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    `--use-file-for-fake-video-capture=${path.join(testdata, 'camera.y4m')}`]);
  const page = b.page;
  for (const k of Object.keys(stats.bytes)) delete stats.bytes[k]; // count this visitor's first visit only
  const load0 = Date.now();
  await page.goto(url);
  await ready(page);
  report.first_load_seconds = (Date.now() - load0) / 1000;
  report.adapter = await page.evaluate(() => window.burnish.adapter);
  report.user_agent = await page.evaluate(() => navigator.userAgent);
  check('ready', await page.evaluate(() => window.burnish.ready), { seconds: report.first_load_seconds, errors: await page.evaluate(() => window.burnish.errors) });
  const shell = ['index.html', 'app.js', 'worker.js', 'pkg/burnish_web.js', 'pkg/burnish_web_bg.wasm'];
  report.transfer_bytes = Object.fromEntries(shell.map((f) => [f, stats.bytes[f] || 0]));
  report.transfer_bytes_shell = shell.reduce((s, f) => s + (stats.bytes[f] || 0), 0);
  // Everything the first visit fetched up to ready: the shell, the default network, thumbnails.
  report.transfer_bytes_first_visit = Object.values(stats.bytes).reduce((s, v) => s + v, 0);
  await shot(page, 'ready');

  // 2. photo mode against the native CLI
  await photoMode(page, 'photo-matches-native');

  // 3. texture synthesis, paused, resumed and stopped on the way
  await page.click('#tabs button[data-mode="texture"]');
  await page.selectOption('#opt-size', '64');
  await page.fill('#opt-evals', '200');
  await page.click('#opt-start');
  const opt = () => page.evaluate(() => ({ ...window.burnish.optimise, history: undefined, evaluations: window.burnish.optimise?.evaluations }));
  const until = (f) => page.waitForFunction(f, null, { timeout });
  await until(() => window.burnish.optimise?.previews >= 1 || window.burnish.errors.length);
  await page.click('#opt-pause');
  await until(() => window.burnish.optimise.parked || window.burnish.optimise.done);
  const parked = await opt();
  await new Promise((ok) => setTimeout(ok, 3000));
  const still = await opt();
  await shot(page, 'texture-paused');
  await page.click('#opt-pause'); // now "Resume"
  await page.waitForFunction((n) => window.burnish.optimise.previews > n || window.burnish.optimise.done, parked.previews, { timeout });
  await page.click('#opt-stop');
  await until(() => window.burnish.optimise.done || window.burnish.errors.length);
  const tex = await page.evaluate(() => {
    const o = window.burnish.optimise;
    const c = document.getElementById('opt-out');
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let lo = 255; let hi = 0;
    for (let i = 0; i < px.length; i += 4) { lo = Math.min(lo, px[i]); hi = Math.max(hi, px[i]); }
    return { evaluations: o.evaluations, previews: o.previews, stopped: o.stopped, style_first: o.history[0]?.style,
      style_last: o.history[o.history.length - 1]?.style, seconds: o.seconds, size: [c.width, c.height], red_range: hi - lo, errors: window.burnish.errors };
  });
  const pauseHeld = parked.parked && still.evaluations === parked.evaluations && !still.done;
  check('texture-pause-resume-stop', pauseHeld && tex.stopped && tex.previews >= 2 && tex.evaluations > parked.evaluations && tex.evaluations < 200,
    { paused_at: parked.evaluations, after_3_s: still.evaluations, stopped_at: tex.evaluations, stopped: tex.stopped });
  check('texture-loss-falls', tex.previews >= 2 && tex.style_last < 0.5 * tex.style_first && tex.red_range > 20, tex);
  await shot(page, 'texture');

  // 4. webcam with the fake camera
  await page.click('#tabs button[data-mode="webcam"]');
  await page.click('#cam-start');
  const f0 = await page.evaluate(() => window.burnish.frames);
  await framesAfter(page, f0 + 2, 'scream-light');
  const a1 = await camPixels(page);
  const f1 = await page.evaluate(() => window.burnish.frames);
  await framesAfter(page, f1 + 1, 'scream-light');
  const a2 = await camPixels(page);
  await shot(page, 'webcam-scream-light');
  await page.click('#styles button[data-name="wave-light"]');
  const f2 = await page.evaluate(() => window.burnish.frames);
  await framesAfter(page, f2 + 2, 'wave-light');
  const w1 = await camPixels(page);
  const cam = await page.evaluate(() => ({ frames: window.burnish.frames, fps: window.burnish.fps, readout: document.getElementById('cam-readout').textContent }));
  await shot(page, 'webcam-wave-light');
  const same = meanDiff(a1, a2);
  const changed = meanDiff(a1, w1);
  check('webcam-changes-with-style', same < 1 && changed > 10, { ...cam, same_style_mean_diff: same, other_style_mean_diff: changed });
  await page.click('#cam-stop');

  // 5. offline: the server goes, the app still loads and stylizes
  server.closeAllConnections();
  await new Promise((ok) => server.close(ok));
  await page.reload();
  await ready(page);
  check('offline-ready', await page.evaluate(() => window.burnish.ready), { errors: await page.evaluate(() => window.burnish.errors) });
  await photoMode(page, 'offline-photo');
  await b.close();
} catch (e) {
  check('no-exception', false, { error: String(e.stack || e) });
} finally {
  server.close();
}
report.seconds = (Date.now() - t0) / 1000;
report.ok = failures.length === 0;
if (arg('--report')) fs.writeFileSync(arg('--report'), JSON.stringify(report, null, 2));
console.log(`app: ${report.ok ? 'PASS' : `FAIL (${failures.join(', ')})`} in ${report.seconds.toFixed(1)} s; first load ${report.first_load_seconds} s, ` +
  `shell ${(report.transfer_bytes_shell / 1e6).toFixed(2)} MB compressed`);
process.exit(report.ok ? 0 : 1);
