// The browser app's work in headless Chromium (WebGPU), timed the way web/benches/app.rs times it
// natively: the first visit (time to ready, bytes transferred), the default network (scream-light)
// on 256² and 512² frames through the worker, and a 50-evaluation Gatys transfer at 128 px from
// the Optimise tab. The network runs twice: with burnish's kernels and with burn's ops. Prints one
// JSON object.
//   node web/tests/bench.mjs [--reps 3] [--sizes 256,512] [--no-gatys]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../serve.mjs';

const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const reps = Number(arg('--reps') || 3);
const sizes = (arg('--sizes') || '256,512').split(',').map(Number);
const gatys = !process.argv.includes('--no-gatys');
const timeout = 1200 * 1000;
const { server, url, stats } = await serve(0);
const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnish-bench-'));
const context = await chromium.launchPersistentContext(userDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--enable-unsafe-webgpu'],
});
const report = { where: 'browser' };
try {
  const page = context.pages()[0] || await context.newPage();
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => window.burnish?.ready || window.burnish?.errors.length || window.burnish?.noWebGpu, null, { timeout });
  report.first_load = { seconds: (Date.now() - t0) / 1000, bytes: Object.values(stats.bytes).reduce((s, v) => s + v, 0), files: { ...stats.bytes } };
  report.adapter = await page.evaluate(() => window.burnish.adapter);
  report.user_agent = await page.evaluate(() => navigator.userAgent);
  // The network with burnish's convolution and instance-norm kernels (the default), then with
  // burn's ops (the path before the kernels), through the same worker call.
  for (const [key, on] of [['network', true], ['network_burn_ops', false]]) {
    await page.evaluate((on) => window.burnish.call('kernels', { on }), on);
    report[key] = { model: 'scream-light', kernels: on, sizes: {} };
    for (const side of sizes) {
      report[key].sizes[`${side}x${side}`] = await page.evaluate(async ([side, reps]) => {
        const bmp = await createImageBitmap(await (await fetch('assets/bunny.jpg')).blob(), { colorSpaceConversion: 'none' });
        const c = new OffscreenCanvas(side, side);
        const g = c.getContext('2d');
        g.drawImage(bmp, 0, 0, side, side);
        const run = async () => {
          const rgba = g.getImageData(0, 0, side, side).data.buffer;
          const t = performance.now();
          await window.burnish.call('stylize', { name: 'scream-light', rgba, width: side, height: side, strength: 1, preserveColour: false }, [rgba]);
          return performance.now() - t;
        };
        const first = await run();
        const times = [];
        for (let i = 0; i < reps; i++) times.push(await run());
        times.sort((a, b) => a - b);
        return { first_ms: first, median_ms: times[Math.floor(times.length / 2)], reps };
      }, [side, reps]);
    }
  }
  await page.evaluate(() => window.burnish.call('kernels', { on: true }));
  if (gatys) {
    await page.click('#tabs button[data-mode="transfer"]');
    await page.selectOption('#opt-size', '128');
    await page.fill('#opt-evals', '50');
    const g0 = Date.now();
    await page.click('#opt-start');
    await page.waitForFunction(() => window.burnish.optimise?.done || window.burnish.errors.length, null, { timeout });
    const o = await page.evaluate(() => ({ evaluations: window.burnish.optimise.evaluations, errors: window.burnish.errors }));
    // From the click: the VGG19 weights (fetched and parsed once), then the run.
    report.gatys_128 = { evaluations: o.evaluations, seconds_from_click: (Date.now() - g0) / 1000, errors: o.errors };
    report.gatys_128.seconds = await page.evaluate(() => window.burnish.optimise.seconds);
  }
} finally {
  await context.close();
  fs.rmSync(userDir, { recursive: true, force: true });
  server.close();
}
console.log(JSON.stringify(report));
