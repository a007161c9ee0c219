// Offline use: the app's own files (the page, its wasm and scripts) are cached when the
// service worker installs, and later requests for them go to the network first, falling back
// to the cache when the network (or the server) is gone. Nothing else is cached here: the
// dataset files are kept by the training worker itself (Cache Storage "convlab-data-v1"), and
// other pages of the site (a course around the lab) are left alone.
// The name changes whenever the set of app files does; `activate` deletes the older caches.
const CACHE = 'convlab-app-v2';
const APP = ['index.html', 'convlab-web-cpu.js', 'convlab-web-cpu_bg.wasm', 'worker.js', 'style.css', 'course.html'];
// The WebGPU build is cached when fetched under this service worker (from the second visit on;
// only browsers with an adapter fetch it), not at install.
const LAZY = ['convlab-web-gpu.js', 'convlab-web-gpu_bg.wasm'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(APP))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names
        .filter((name) => name.startsWith('convlab-app-') && name !== CACHE)
        .map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

/** The app file a request is for ('index.html' for the folder itself), or null. */
function appFile(url) {
  const scope = new URL(self.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return null;
  const name = url.pathname.slice(scope.pathname.length) || 'index.html';
  return APP.includes(name) || LAZY.includes(name) ? name : null;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const name = request.method === 'GET' ? appFile(new URL(request.url)) : null;
  if (name === null) return;
  // One cache entry per file, whatever the query (?preset=..., share links).
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.status === 200) {
          const copy = response.clone();
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(name, copy)).catch(() => {}));
        }
        return response;
      })
      .catch(() => caches.open(CACHE)
        .then((cache) => cache.match(name))
        .then((cached) => cached ?? Response.error())),
  );
});
