// A static file server for the built page: dist/ at /, the committed test fixtures at
// /fixtures/. Gzip files are served as bytes (no Content-Encoding), as a static host does.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.gz': 'application/gzip',
  '.json': 'application/json',
  '.png': 'image/png',
};

/** Serves `roots` (URL prefix -> folder, or -> a function `(req, res, rest)` that answers the
 * request itself: bad servers for the tests) on 127.0.0.1 at a free port; resolves to
 * {url, close}. */
export function serve(roots) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const prefix = Object.keys(roots)
      .sort((a, b) => b.length - a.length)
      .find((p) => path.startsWith(p));
    if (prefix === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    if (typeof roots[prefix] === 'function') {
      roots[prefix](req, res, path.slice(prefix.length));
      return;
    }
    const root = resolve(roots[prefix]);
    let file = normalize(join(root, path.slice(prefix.length)));
    if (!file.startsWith(root)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const { size } = statSync(file);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': size,
        'Cache-Control': 'no-cache',
      });
      createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((done) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      done({
        url: `http://127.0.0.1:${port}/`,
        close: () => new Promise((closed) => { server.closeAllConnections(); server.close(closed); }),
      });
    });
  });
}
