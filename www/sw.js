// Offline use: the page, its wasm and its scripts are cached when the service worker installs,
// and every later request goes to the network first, falling back to the cache when the
// network (or the server) is gone. The dataset files are cached by the training worker itself
// (Cache Storage "convlab-data-v1"), so a page that has loaded them once trains offline.
const CACHE = 'convlab-app-v1';
const APP = ['./', 'index.html', 'convlab-web.js', 'convlab-web_bg.wasm', 'worker.js', 'style.css', 'course.html'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(APP))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // The dataset (cached by the worker) and other origins are left to the browser.
  if (request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.endsWith('.gz')) {
    return;
  }
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() => caches.open(CACHE)
        .then((cache) => cache.match(request, { ignoreSearch: true }))
        .then((cached) => cached ?? Response.error())),
  );
});
