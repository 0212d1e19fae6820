// The app's service worker: keeps the app shell so a second visit works offline. Network first
// (a rebuilt app is picked up at once), the cached copy when the network fails. The weights are
// kept by worker.js in their own cache; a request for one falls back to any cache too.
const SHELL = 'burnish-shell-v1';
const FILES = ['./', './index.html', './app.js', './worker.js', './pkg/burnish_web.js', './pkg/burnish_web_bg.wasm',
  './assets/bunny.jpg', './assets/starry_night.jpg'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(SHELL).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET' || new URL(req.url).origin !== self.location.origin) return;
  const weights = req.url.endsWith('.safetensors');
  e.respondWith((async () => {
    try {
      const res = await fetch(req);
      if (res.ok && !weights) {
        const copy = res.clone();
        caches.open(SHELL).then((c) => c.put(req, copy));
      }
      return res;
    } catch (err) {
      const hit = await caches.match(req, { ignoreSearch: true });
      if (hit) return hit;
      throw err;
    }
  })());
});
