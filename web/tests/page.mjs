// Loads one of burnish's browser check pages in headless Chromium with WebGPU (SwiftShader here: no
// shader-f16, 256 invocations per workgroup) and fails unless the page reports success:
//   check.html    the WGSL kernels against their reference twins;
//   stylize.html  a shipped style network against the native CLI's output (web/pkg/testdata,
//                 prepared by tools/browser-test.sh).
// A page logs "BURNISH_REPORT {json}" (with "ok" and "summary" lines) or "BURNISH_ERROR message".
//   node web/tests/page.mjs PAGE [--report out.json] [--screenshot out.png]
// Needs web/pkg (tools/build-web.sh), Chromium (CHROMIUM or /usr/bin/chromium) and
// playwright-core (npm install in web/).
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const timeoutMs = Number(process.env.BURNISH_WEB_TIMEOUT_S || 900) * 1000;

if (!fs.existsSync(path.join(web, 'pkg', 'burnish_web_bg.wasm'))) {
  console.error('web/pkg/burnish_web_bg.wasm is missing: run tools/build-web.sh first');
  process.exit(2);
}

const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
const server = http.createServer((req, res) => {
  const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '');
  const file = path.resolve(web, rel);
  if (!file.startsWith(web) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const pageName = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'check.html';
const url = `http://127.0.0.1:${server.address().port}/${pageName}`;

async function attempt() {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'burnish-chromium-'));
  const browser = await chromium.launchPersistentContext(userDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'],
  });
  try {
    const page = browser.pages()[0] || await browser.newPage();
    await page.setViewportSize({ width: 1000, height: 700 });
    const done = new Promise((resolve) => {
      page.on('console', (m) => {
        const t = m.text();
        if (t.startsWith('BURNISH_REPORT ')) resolve({ report: JSON.parse(t.slice(15)) });
        else if (t.startsWith('BURNISH_ERROR ')) resolve({ error: t.slice(14) });
        else if (m.type() === 'error') console.error('page:', t);
      });
      page.on('pageerror', (e) => resolve({ error: String(e) }));
    });
    const t0 = Date.now();
    await page.goto(url);
    const result = await Promise.race([done, new Promise((r) => setTimeout(() => r({ error: `no result within ${timeoutMs / 1000} s` }), timeoutMs))]);
    result.seconds = (Date.now() - t0) / 1000;
    result.browser = browser.browser()?.version() ?? 'chromium';
    if (arg('--screenshot')) await page.screenshot({ path: arg('--screenshot'), fullPage: true });
    return result;
  } finally {
    await browser.close();
    fs.rmSync(userDir, { recursive: true, force: true });
  }
}

let result = await attempt();
if (result.error && /adapter|WebGPU/i.test(result.error)) {
  console.error(`first try: ${result.error}; retrying once (a loaded machine sometimes gets no adapter)`);
  result = await attempt();
}
server.close();
if (result.error) {
  console.error(`${pageName} failed: ${result.error}`);
  process.exit(1);
}
const r = result.report;
r.seconds = result.seconds;
if (arg('--report')) fs.writeFileSync(arg('--report'), JSON.stringify(r, null, 2));
console.log(`${pageName} in ${r.user_agent}`);
console.log(`adapter (burn): ${JSON.stringify(r.adapter)}`);
if (r.browser_adapter) console.log(`adapter (browser): ${JSON.stringify(r.browser_adapter)}`);
for (const line of r.summary || []) console.log(line);
console.log(`${result.seconds.toFixed(1)} s: ${r.ok ? 'PASS' : 'FAIL'}`);
process.exit(r.ok ? 0 : 1);
