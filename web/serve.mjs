// Serves web/ (the app, the check pages, pkg/) on localhost, gzip-compressed where that helps,
// the way a static host would. WebGPU, service workers and the camera need a secure context:
// localhost is one.
//   node web/serve.mjs [PORT]          (default 8000; 0 picks a free port)
// The browser tests import serve() from here.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

export const webRoot = path.dirname(fileURLToPath(import.meta.url));

const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.json': 'application/json', '.css': 'text/css', '.png': 'image/png', '.jpg': 'image/jpeg', '.svg': 'image/svg+xml',
  '.safetensors': 'application/octet-stream', '.y4m': 'video/x-raw',
};
const compressible = new Set(['.html', '.js', '.mjs', '.wasm', '.json', '.css', '.svg']);
const gzipped = new Map(); // path -> { mtimeMs, bytes }

// Resolves to { server, url, stats } once listening; stats.bytes counts the bytes sent (after
// compression) per request path.
export function serve(port = 8000, host = '127.0.0.1') {
  const stats = { bytes: {} };
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    let file = path.resolve(webRoot, rel);
    if (file.startsWith(webRoot) && fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!file.startsWith(webRoot) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    const ext = path.extname(file);
    const st = fs.statSync(file);
    // no-cache + an ETag: the browser revalidates every time (a rebuild shows at once) and a
    // file it already holds costs a 304, not a second download.
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const headers = { 'content-type': types[ext] || 'application/octet-stream', 'cache-control': 'no-cache', etag };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const count = (n) => { stats.bytes[rel] = (stats.bytes[rel] || 0) + n; };
    if (compressible.has(ext) && /\bgzip\b/.test(req.headers['accept-encoding'] || '')) {
      const mtimeMs = st.mtimeMs;
      let hit = gzipped.get(file);
      if (!hit || hit.mtimeMs !== mtimeMs) {
        hit = { mtimeMs, bytes: zlib.gzipSync(fs.readFileSync(file), { level: 9 }) };
        gzipped.set(file, hit);
      }
      res.writeHead(200, { ...headers, 'content-encoding': 'gzip', 'content-length': hit.bytes.length });
      count(hit.bytes.length);
      res.end(req.method === 'HEAD' ? undefined : hit.bytes);
      return;
    }
    const size = st.size;
    res.writeHead(200, { ...headers, 'content-length': size });
    if (req.method === 'HEAD') { res.end(); return; }
    count(size);
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok({ server, url: `http://${host === '127.0.0.1' ? 'localhost' : host}:${server.address().port}/`, stats }));
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!fs.existsSync(path.join(webRoot, 'pkg', 'burnish_web_bg.wasm'))) {
    console.error('web/pkg is missing: build it first with  bash tools/build-web.sh');
    process.exit(2);
  }
  const port = Number(process.argv[2] ?? 8000);
  try {
    const { url } = await serve(port);
    console.log(`burnish in the browser: open ${url} in a browser with WebGPU (Ctrl-C stops)`);
  } catch (e) {
    console.error(`cannot listen on port ${port}: ${e.message} (pass another port: node web/serve.mjs 8080)`);
    process.exit(1);
  }
}
