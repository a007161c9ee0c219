// The published bundle as course authors and students get it: the archive scripts/publish.sh
// wrote, checked against its checksums, unpacked under a sub-path of a site, served by a plain
// static server (Python's http.server) and opened in headless Chromium, with no build tool on
// the server's or the browser's PATH. Run by scripts/test.sh after publish.sh.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { inBrowser, text, trainBriefly, waitForText } from './browser.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
// Only the system's folders: the Rust toolchain, Trunk, wasm-bindgen and wasm-opt live elsewhere
// (~/.cargo/bin), and the bundle must not need them.
const PLAIN_PATH = '/usr/bin:/bin';
const BUILD_TOOLS = ['cargo', 'rustc', 'rustup', 'trunk', 'wasm-bindgen', 'wasm-opt', 'wasm-pack'];
const SUB_PATH = 'courses/cv-101/';

/** The archive to test: $CONVLAB_BUNDLE, or the newest one in publish/. */
function archivePath() {
  if (process.env.CONVLAB_BUNDLE) return process.env.CONVLAB_BUNDLE;
  const folder = join(ROOT, 'publish');
  const archives = existsSync(folder)
    ? readdirSync(folder).filter((f) => /^convlab-.*\.tar\.gz$/.test(f)).map((f) => join(folder, f))
    : [];
  assert.ok(archives.length > 0, `no bundle in ${folder}: run scripts/publish.sh first`);
  return archives.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

function filesUnder(folder) {
  return readdirSync(folder, { recursive: true })
    .map((f) => join(folder, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => relative(folder, f))
    .sort();
}

/** Python's http.server on a free port, serving `folder`; resolves to {url, close}. */
function plainServer(folder) {
  const server = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', folder], {
    env: { PATH: PLAIN_PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((ready, fail) => {
    server.on('error', fail);
    server.on('exit', (code) => fail(new Error(`python3 -m http.server exited (${code})`)));
    server.stdout.on('data', (chunk) => {
      const port = String(chunk).match(/port (\d+)/)?.[1];
      if (port) ready({ url: `http://127.0.0.1:${port}/`, close: () => server.kill() });
    });
  });
}

let archive;
let site;
let bundleName;
let server;
before(async () => {
  archive = archivePath();
  bundleName = basename(archive, '.tar.gz');
  site = mkdtempSync(join(tmpdir(), 'convlab-site-'));
  const courses = join(site, SUB_PATH, '..');
  execFileSync('mkdir', ['-p', courses], { env: { PATH: PLAIN_PATH } });
  execFileSync('tar', ['-xzf', archive, '-C', courses], { env: { PATH: PLAIN_PATH } });
  // The course's own folder name, as an author would choose it.
  execFileSync('mv', [join(courses, bundleName), join(site, SUB_PATH)], { env: { PATH: PLAIN_PATH } });
  server = await plainServer(site);
});
after(async () => {
  server?.close();
  if (site) rmSync(site, { recursive: true, force: true });
});

test('the bundle is whole: its archive and every file match their checksums', () => {
  const [expected, name] = readFileSync(`${archive}.sha256`, 'utf8').trim().split(/\s+/);
  assert.equal(name, basename(archive));
  assert.equal(sha256(archive), expected, 'the archive matches its .sha256');

  const folder = join(site, SUB_PATH);
  const listed = readFileSync(join(folder, 'SHA256SUMS'), 'utf8').trim().split('\n').map((line) => {
    const [hash, file] = line.split(/\s+/);
    assert.equal(sha256(join(folder, file)), hash, `${file} matches SHA256SUMS`);
    return file;
  });
  assert.deepEqual(listed, filesUnder(folder).filter((f) => f !== 'SHA256SUMS'), 'SHA256SUMS lists every file');
  for (const file of ['index.html', 'convlab-web-cpu.js', 'convlab-web-cpu_bg.wasm', 'convlab-web-gpu.js',
    'convlab-web-gpu_bg.wasm', 'worker.js', 'sw.js', 'course.html', 'style.css', 'README.txt', 'VERSION',
    'data/train-images-idx3-ubyte.gz', 'data/train-labels-idx1-ubyte.gz',
    'data/t10k-images-idx3-ubyte.gz', 'data/t10k-labels-idx1-ubyte.gz']) {
    assert.ok(listed.includes(file), `the bundle has ${file}`);
  }
  assert.equal(`convlab-${readFileSync(join(folder, 'VERSION'), 'utf8').trim()}`, bundleName);
});

test('no build tool is on the PATH the bundle is served and browsed with', () => {
  for (const tool of BUILD_TOOLS) {
    for (const dir of PLAIN_PATH.split(':')) {
      assert.ok(!existsSync(join(dir, tool)), `${join(dir, tool)} is a build tool on the plain PATH`);
    }
  }
});

test('from a sub-path of a plain static server: load the real data, train, see the result and feature maps', { timeout: 600_000 }, async () => {
  await inBrowser('bundle', { webgpu: false, env: { PATH: PLAIN_PATH } }, async (page) => {
    const lab = `${server.url}${SUB_PATH}`;
    await page.goto(lab);
    await waitForText(page, '#data-status', '60,000 training and 10,000 test images', 180_000);
    await waitForText(page, '#backend', 'no WebGPU adapter');
    await trainBriefly(page, 'cnn-1conv', 256, 300_000);
    assert.match(await text(page, '#test-result'), /Test loss \d\.\d{4}.*on 10,000 test images/s);
    assert.match(await text(page, '#epoch-log'), /Epoch 1\/1\n8\/8 - /);
    await waitForText(page, '#fm-status', 'Activations of the trained model', 120_000);
    const cells = await page.$$eval('#fm-grid canvas', (canvases) => canvases.map((c) => {
      const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const colours = new Set();
      for (let i = 0; i < data.length; i += 4) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      return colours.size;
    }));
    assert.equal(cells.length, 6, 'test images 0, 23 and 28 through the conv and the pool layer');
    for (const colours of cells) assert.ok(colours > 1, 'a feature map is drawn, not blank');
    // The service worker works from the sub-path: its scope is the lab's folder.
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    assert.equal(scope, lab);
  });
});
