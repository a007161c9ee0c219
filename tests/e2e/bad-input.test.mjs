// Bad input, everywhere it enters (issue 15): broken dataset folders and servers, actions at the
// wrong time, hostile URLs and host commands, damaged model files, and a browser whose storage
// is full, turned off or blocked. Each gets a message naming what is wrong, no page error, and
// the lab keeps working (it still trains). The CPU fallback throughout (fast here).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { serve } from './server.mjs';
import { inBrowser, setInput, text, trainBriefly, waitForText } from './browser.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIST = process.env.CONVLAB_DIST ?? join(ROOT, 'dist');
const FIXTURES = join(ROOT, 'tests/fixtures/fashion-mnist');
const TRAIN_IMAGES = 'train-images-idx3-ubyte.gz';
const TRAIN_LABELS = 'train-labels-idx1-ubyte.gz';
const TEST_IMAGES = 't10k-images-idx3-ubyte.gz';
const TEST_LABELS = 't10k-labels-idx1-ubyte.gz';
const FILES = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];
const fixture = (name) => readFileSync(join(FIXTURES, name));

/** Messages the browser itself logs for a failed request (a 404, a dropped connection, CORS);
 * the page logs nothing for them. */
const NETWORK = /Failed to load resource|net::ERR_|CORS policy|Access to fetch/;
function onlyNetworkErrors(errors) {
  const others = errors.filter((e) => !NETWORK.test(e));
  errors.length = 0;
  assert.deepEqual(others, [], 'the page logged no errors of its own');
}

/** Dataset folders with one thing wrong each, written from the fixtures. */
function badFolders() {
  const dir = mkdtempSync(join(tmpdir(), 'convlab-bad-data-'));
  const folder = (name, replace = {}) => {
    mkdirSync(join(dir, name));
    for (const file of FILES) {
      if (replace[file] === null) continue; // missing
      if (replace[file]) writeFileSync(join(dir, name, file), replace[file]);
      else copyFileSync(join(FIXTURES, file), join(dir, name, file));
    }
  };
  const images = gunzipSync(fixture(TRAIN_IMAGES));
  const labels = gunzipSync(fixture(TRAIN_LABELS));
  const magic = Buffer.from(images);
  magic[1] = 0x42;
  folder('wrong-magic', { [TRAIN_IMAGES]: gzipSync(magic) });
  folder('swapped', { [TRAIN_IMAGES]: fixture(TRAIN_LABELS), [TRAIN_LABELS]: fixture(TRAIN_IMAGES) });
  const gz = fixture(TRAIN_IMAGES);
  folder('truncated', { [TRAIN_IMAGES]: gz.subarray(0, gz.length >> 1) });
  const corrupt = Buffer.from(gz);
  corrupt[10] |= 0b110; // the first deflate block's type: 11 is reserved
  folder('corrupt', { [TRAIN_IMAGES]: corrupt });
  folder('garbage', { [TRAIN_IMAGES]: gzipSync(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251 | 0x80))) });
  const fewer = Buffer.from(labels.subarray(0, 8 + 2000));
  fewer.writeUInt32BE(2000, 4);
  folder('mismatch', { [TRAIN_LABELS]: gzipSync(fewer) });
  folder('missing', { [TEST_LABELS]: null });
  return dir;
}

/** A host whose single-page-app fallback answers every path with its HTML page, status 200. */
function htmlFor200(req, res) {
  const page = readFileSync(join(DIST, 'index.html'));
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': page.length }).end(page);
}

/** A server that drops the connection half-way through the training images. */
function dropsHalfWay(req, res, rest) {
  const body = readFileSync(join(FIXTURES, rest));
  res.writeHead(200, { 'Content-Type': 'application/gzip', 'Content-Length': body.length });
  if (rest !== TRAIN_IMAGES) {
    res.end(body);
    return;
  }
  res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => res.socket.destroy(), 100));
}

/** A server that announces a 3 GB training-image file (and sends a little of it, slowly). */
function claims3GB(req, res, rest) {
  const body = readFileSync(join(FIXTURES, rest));
  if (rest !== TRAIN_IMAGES) {
    res.writeHead(200, { 'Content-Type': 'application/gzip', 'Content-Length': body.length }).end(body);
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/gzip', 'Content-Length': 3_000_000_000 });
  res.write(body.subarray(0, 1024), () => setTimeout(() => res.socket?.destroy(), 10_000));
}

let server; // the lab, the fixtures and the bad folders
let other; // the fixtures on another origin, without CORS headers
before(async () => {
  server = await serve({
    '/fixtures/': FIXTURES,
    '/bad/': badFolders(),
    '/spa/': htmlFor200,
    '/drop/': dropsHalfWay,
    '/huge/': claims3GB,
    '/host/': (req, res) => res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<!doctype html><link rel="icon" href="data:,"><title>a course page</title>'),
    '/': DIST,
  });
  other = await serve({ '/': FIXTURES });
});
after(async () => { await server?.close(); await other?.close(); });

const origin = (url) => new URL(url).origin;

async function openWithFixtures(page, query = '') {
  await page.goto(`${server.url}?data=fixtures/${query}`);
  await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
}

/** Loads `folder` with the Load button and waits for the error that contains `needle`. */
async function loadFails(page, folder, needle) {
  await setInput(page, '#data-url', folder);
  await page.click('#data-load');
  if (needle instanceof RegExp) {
    await page.waitForFunction((source) => new RegExp(source).test(document.querySelector('#data-error').textContent), needle.source, { timeout: 30_000 })
      .catch(async (e) => { throw new Error(`#data-error never matched ${needle}: "${await text(page, '#data-error')}" (${e.message})`); });
  } else {
    await waitForText(page, '#data-error', needle, 30_000);
  }
  assert.ok(await page.locator('#data-error').isVisible());
  assert.equal(await text(page, '#data-status'), 'The dataset could not be loaded.');
  assert.ok(await page.locator('#train').isDisabled(), 'no dataset, no training');
  assert.ok(await page.locator('#data-load').isEnabled(), 'the retry is enabled');
  return text(page, '#data-error');
}

test('dataset files: each broken folder or server is named (file, byte offset), then good data loads and trains', { timeout: 180_000 }, async () => {
  await inBrowser('bad-input-data', { webgpu: false }, async (page, errors) => {
    const at = (folder) => `${server.url}${folder}`;
    await page.goto(`${server.url}?data=bad/wrong-magic/`);
    await waitForText(page, '#data-error', `${at('bad/wrong-magic/')}${TRAIN_IMAGES}: at byte 0 of the unpacked data: not an IDX file: magic starts 00 42, expected 00 00. Check the dataset folder`);

    await loadFails(page, 'bad/swapped/', `${at('bad/swapped/')}${TRAIN_IMAGES}: at byte 3 of the unpacked data: IDX array has 1 dimensions (a label file), expected 3 (an image file)`);
    const half = fixture(TRAIN_IMAGES).length >> 1;
    await loadFails(page, 'bad/truncated/', `${TRAIN_IMAGES}: at byte ${half} of ${half}: gzip stream is corrupt or truncated`);
    await loadFails(page, 'bad/corrupt/', /corrupt\/train-images-idx3-ubyte\.gz: at byte 1[0-6] of \d+: gzip stream is corrupt or truncated: corrupt deflate stream/);
    await loadFails(page, 'bad/garbage/', `${at('bad/garbage/')}${TRAIN_IMAGES}: at byte 0 of the unpacked data: not an IDX file: magic starts`);
    await loadFails(page, 'bad/mismatch/', `${at('bad/mismatch/')}${TRAIN_IMAGES} has 3000 images but ${at('bad/mismatch/')}${TRAIN_LABELS} has 2000 labels`);
    await loadFails(page, 'bad/missing/', `could not fetch ${at('bad/missing/')}${TEST_LABELS}: HTTP 404`);
    await loadFails(page, 'spa/', `${at('spa/')}${TRAIN_IMAGES}: at byte 0: it is text, not an IDX file: it starts with "<!doctype html>" (an HTML page: the wrong folder, or a server's error page?)`);
    await loadFails(page, 'drop/', /drop\/train-images-idx3-ubyte\.gz: the download broke off after \d+ bytes: /);
    // Issue 34: a Content-Length does not size an allocation (it panicked the worker).
    await loadFails(page, 'huge/', `${at('huge/')}${TRAIN_IMAGES}: the server announces 3000000000 bytes, more than the 256 MB any dataset file may have (Fashion-MNIST's largest is 47 MB unpacked): not downloaded`);
    const cors = await loadFails(page, other.url, `could not fetch ${other.url}${TRAIN_IMAGES}: `);
    assert.match(cors, /no CORS header/);
    // Nothing broken was kept in the cache for a reload to trip over.
    const cached = await page.evaluate(async () => (await (await caches.open('convlab-data-v1')).keys()).map((r) => r.url));
    assert.deepEqual(cached, []);
    onlyNetworkErrors(errors);

    // The page is as usable as before: good data loads, and the lab trains on it.
    await setInput(page, '#data-url', 'fixtures/');
    await page.click('#data-load');
    await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
    assert.ok(await page.locator('#data-error').isHidden());
    await trainBriefly(page, 'dnn', 64);
    assert.equal(await page.locator('#history tbody tr').count(), 1);
  });
});

test('concurrency: Start twice, edits while training, Stop during the evaluation, a reload mid-run', { timeout: 180_000 }, async () => {
  await inBrowser('bad-input-concurrency', { webgpu: false }, async (page) => {
    await openWithFixtures(page);
    const rows = () => page.locator('#history tbody tr').count();

    // Start pressed twice (and once more at once): one run.
    await page.selectOption('#preset', 'dnn');
    await setInput(page, '#epochs', 1);
    await setInput(page, '#train-limit', 64);
    await page.evaluate(() => { const b = document.getElementById('train'); b.click(); b.click(); });
    await waitForText(page, '#test-result', 'Test loss');
    await page.waitForTimeout(500);
    assert.equal(await rows(), 1, 'one run');

    // Layers and settings changed while a run trains: the controls are disabled, and an edit
    // forced through them (a script) changes nothing, not even what the fields show.
    await page.selectOption('#preset', 'cnn-16');
    await setInput(page, '#epochs', 40);
    await setInput(page, '#train-limit', 640);
    await page.click('#train');
    await waitForText(page, '#train-status', 'batch', 60_000);
    for (const control of ['#preset', '#epochs', '#layers input[data-field="filters"]', '#data-load', '#model-file']) {
      assert.ok(await page.locator(control).first().isDisabled(), `${control} is disabled while training`);
    }
    await page.evaluate(() => {
      const set = (el, value) => { el.value = value; el.dispatchEvent(new Event('input', { bubbles: true })); el.dispatchEvent(new Event('change', { bubbles: true })); };
      set(document.querySelector('#epochs'), '3');
      set(document.querySelector('#layers input[data-index="0"][data-field="filters"]'), '8');
      set(document.querySelector('#preset'), 'dnn');
    });
    await page.waitForFunction(() => document.querySelector('#epochs').value === '40');
    assert.equal(await page.inputValue('#layers input[data-index="0"][data-field="filters"]'), '16');
    assert.match(await text(page, '#summary'), /Total params: 55,098/);
    await page.click('#stop');
    await waitForText(page, '#test-result', 'Test loss', 60_000);
    assert.equal(await rows(), 2);
    assert.match(await text(page, '#history tbody tr:first-child'), /C16-P2-C16-P2-F-D128-D10[^]* of 40/);
    assert.equal(await page.inputValue('#epochs'), '40');

    // Stop pressed while the test set is evaluated (right after the last batch): the run
    // ends normally, and the Stop does not leak into the next run.
    await page.selectOption('#preset', 'cnn');
    await setInput(page, '#epochs', 1);
    await setInput(page, '#train-limit', 64);
    // The observer is in place before Train: a run of two batches can end before a later
    // evaluate() gets its turn on a busy page.
    await page.evaluate(() => { window.stopAfterLastBatch = new Promise((done) => {
      const log = document.getElementById('epoch-log');
      const observer = new MutationObserver(() => {
        if (/2\/2 - /.test(log.textContent)) {
          observer.disconnect();
          const stop = document.getElementById('stop');
          const during = !stop.disabled && !/Test loss/.test(document.getElementById('test-result').textContent);
          stop.click();
          done(during);
        }
      });
      observer.observe(log, { childList: true, characterData: true, subtree: true });
    }); });
    await page.click('#train');
    const stopped = await page.evaluate(() => window.stopAfterLastBatch);
    assert.ok(stopped, 'Stop was pressed after the last batch, before the test result');
    await waitForText(page, '#test-result', 'Test loss', 60_000);
    assert.equal(await rows(), 3);
    assert.doesNotMatch(await text(page, '#history tbody tr:first-child'), /stopped/i);
    assert.ok(await page.locator('#train').isEnabled());
    await page.click('#train');
    await page.waitForFunction(() => document.querySelectorAll('#history tbody tr').length === 4, null, { timeout: 60_000 });
    assert.doesNotMatch(await text(page, '#history tbody tr:first-child'), /stopped/i, 'the next run is not stopped');

    // A reload mid-run: the finished runs, the settings and the edited model survive.
    await page.selectOption('#preset', 'cnn-16');
    await setInput(page, '#layers input[data-index="0"][data-field="filters"]', 8);
    await waitForText(page, '#summary', 'Total params:');
    const summary = await text(page, '#summary');
    await setInput(page, '#epochs', 30);
    await setInput(page, '#train-limit', 640);
    await page.click('#train');
    await waitForText(page, '#train-status', 'batch', 60_000);
    await page.reload();
    await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
    assert.equal(await rows(), 4, 'the finished runs are kept');
    assert.equal(await page.inputValue('#preset'), 'custom');
    assert.equal(await page.inputValue('#layers input[data-index="0"][data-field="filters"]'), '8');
    assert.equal(await text(page, '#summary'), summary);
    assert.equal(await page.inputValue('#epochs'), '30');
    assert.equal(await page.inputValue('#train-limit'), '640');
    assert.ok(await page.locator('#train').isEnabled(), 'the lab can train again');
    assert.ok(await page.locator('#settings-error').isHidden());
  });
});

test('embedding: markup, huge numbers, malformed lists and repeated keys in the URL are named; malformed commands and commands while training are answered', { timeout: 180_000 }, async () => {
  await inBrowser('bad-input-embedding', { webgpu: false }, async (page) => {
    const query = new URLSearchParams([
      ['data', 'fixtures/'],
      ['epochs', '<img src=x onerror="window.pwned=1">'],
      ['layers', '<script>window.pwned=2</script>'],
      ['learning_rate', '1e999'],
      ['seed', '99999999999999999999999'],
      ['panels', ',,model,,train,data,'],
      ['allow', `*,javascript:alert(1),${origin(server.url)}`],
      ['epochs', '3'],
      ['id', '<b>lab</b>'],
    ]);
    await page.goto(`${server.url}?${query}`);
    await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
    const banner = await text(page, '#setup-error');
    for (const needle of [
      `URL parameter epochs='<img src=x onerror="window.pwned=1">' is not a whole number from 1 to 1000`,
      `URL parameter layers: layer 0 '<script>window.pwned=2</script>': unknown layer`,
      `URL parameter learning_rate='1e999' cannot be used`,
      `URL parameter seed='99999999999999999999999' is not a whole number from 0 to 18446744073709551615`,
      `URL parameter allow: '*' is not an origin`,
      `URL parameter allow: 'javascript:alert(1)' is not an origin`,
      `URL parameter epochs is given 2 times`,
    ]) assert.ok(banner.includes(needle), `the banner says ${needle}: ${banner}`);
    // Shown as text: no element, no script ran.
    assert.equal(await page.locator('#setup-error *').count(), 0);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    // The rest applies: the last epochs, the panels named.
    assert.equal(await page.inputValue('#epochs'), '3');
    assert.ok(await page.locator('#model-panel').isVisible());
    assert.ok(await page.locator('#maps-panel').isHidden());
    assert.equal(await page.inputValue('#preset'), 'cnn', 'the model is the lab CNN');

    // Embedded in a host page on an allowed origin: malformed commands get command_failed.
    await page.goto(`${server.url}host/`);
    await page.evaluate(([src]) => {
      window.heard = [];
      window.addEventListener('message', (e) => { if (e.data?.source === 'convlab') window.heard.push(e.data); });
      document.body.innerHTML = `<iframe id="lab" src="${src}" style="width:1200px;height:900px"></iframe>`;
    }, [`${server.url}index.html?data=fixtures/&preset=dnn&epochs=50&train_images=3000&allow=${origin(server.url)}&id=lab`]);
    const lab = await (await page.waitForSelector('#lab')).contentFrame();
    const heard = (type, count = 1) => page.waitForFunction(([t, n]) => window.heard.filter((e) => e.type === t).length >= n, [type, count], { timeout: 60_000 })
      .then(() => page.evaluate((t) => window.heard.filter((e) => e.type === t), type));
    await heard('ready');
    const send = (command) => page.evaluate((c) => document.getElementById('lab').contentWindow.postMessage(c, '*'), command);
    const malformed = [
      [{ command: 'set_layers' }, 'set_layers', 'missing field `layers`'],
      [{ command: 'load_preset', preset: 42 }, 'load_preset', 'invalid type: integer `42`'],
      [{ command: 'launch' }, 'launch', 'unknown variant `launch`'],
      [{ command: { nested: true } }, '{"nested":true}', 'malformed command'],
      [{ command: 'set_layers', layers: '<script>alert(1)</script>' }, 'set_layers', "layer 0 '<script>alert(1)</script>': unknown layer"],
      [{ command: 'load_preset', preset: 'x'.repeat(100_000) }, 'load_preset', "unknown preset 'xxxx"],
    ];
    for (const [command] of malformed) await send(command);
    // Not commands at all: ignored silently.
    await send('{"command":"start"}');
    await send([1, 2, 3]);
    const failed = await heard('command_failed', malformed.length);
    assert.equal(failed.length, malformed.length, JSON.stringify(failed));
    for (const [i, [, name, needle]] of malformed.entries()) {
      assert.equal(failed[i].command, name);
      assert.ok(failed[i].message.includes(needle), `${failed[i].message} includes ${needle}`);
      assert.equal(failed[i].id, 'lab');
    }
    assert.ok(failed[5].message.length < 300, 'a huge value is not echoed whole');
    assert.match(await text(lab, '#summary'), /Total params: 101,770/, 'the model is untouched');
    assert.equal(await text(lab, '#train-status'), '', 'nothing started');

    // Commands while training: refused with a reason; stop stops.
    await send({ command: 'start' });
    await heard('training_started');
    await waitForText(lab, '#train-status', 'batch', 60_000);
    await send({ command: 'start' });
    await send({ command: 'set_layers', layers: 'flatten,dense:10:softmax' });
    await send({ command: 'load_preset', preset: 'cnn' });
    const refused = (await heard('command_failed', malformed.length + 3)).slice(malformed.length);
    assert.deepEqual(refused.map((e) => [e.command, e.message]), [
      ['start', 'training is already running'],
      ['set_layers', 'training is running'],
      ['load_preset', 'training is running'],
    ]);
    await send({ command: 'stop' });
    const [stop] = await heard('early_stop');
    assert.equal(stop.reason, 'stopped');
    await heard('finished');
    assert.equal((await heard('training_started')).length, 1, 'one run');
    assert.match(await text(lab, '#summary'), /Total params: 101,770/);
  });
});

test('model files: truncated, a forged header, a huge header and a 2 GB file are refused by name; the lab keeps working', { timeout: 180_000 }, async () => {
  await inBrowser('bad-input-models', { webgpu: false, context: { acceptDownloads: true } }, async (page) => {
    await openWithFixtures(page);
    await trainBriefly(page, 'dnn', 64);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#model-save-file')]);
    const good = readFileSync(await download.path());
    const headerLength = good.readUInt32LE(12);
    const withHeader = (json) => {
      const length = Buffer.alloc(4);
      length.writeUInt32LE(json.length);
      return Buffer.concat([good.subarray(0, 12), length, json, good.subarray(16 + headerLength)]);
    };
    const pick = (name, buffer) => page.setInputFiles('#model-file', { name, mimeType: 'application/octet-stream', buffer });
    const cases = [
      ['empty.convlab', Buffer.alloc(0), 'empty.convlab: not a convlab model file: bytes 0-7 are ""'],
      ['page.convlab', Buffer.from('<!DOCTYPE html><html><script>alert(1)</script>'), 'page.convlab: not a convlab model file: bytes 0-7 are "<!DOCTYP"'],
      ['cut.convlab', good.subarray(0, 16 + headerLength + 40), `cut.convlab: damaged model file: the weights at byte ${16 + headerLength} cannot be read`],
      ['short-header.convlab', good.subarray(0, 16 + (headerLength >> 1)), `short-header.convlab: damaged model file: the header length at bytes 12-15 is ${headerLength}, but ${headerLength >> 1} bytes follow`],
      ['huge.convlab', (() => { const b = Buffer.from(good); b.writeUInt32LE(0xfffffff0, 12); return b; })(), 'huge.convlab: damaged model file: the header length at bytes 12-15 is 4294967280'],
      ['padded.convlab', withHeader(Buffer.alloc(2 << 20, ' ')), 'padded.convlab: not a convlab model file: the header length at bytes 12-15 is 2097152, over the 1048576-byte limit'],
      ['forged.convlab', withHeader(Buffer.from('{"spec":{"layers":[{"type":"Flatten"},{"type":"Dense","units":100000000,"activation":"relu"},{"type":"Dense","units":10,"activation":"softmax"}]}}')), 'forged.convlab: the model in the file cannot be built: layer 1 (Dense)'],
      ['script.convlab', withHeader(Buffer.from('{"spec":"<img src=x onerror=alert(1)>"}')), 'script.convlab: damaged model file: the header at byte 16 is not valid: invalid type: string "<img src=x onerror=alert(1)>"'],
      ['other.convlab', withHeader(Buffer.from(JSON.stringify({ spec: { layers: [{ type: 'Flatten' }, { type: 'Dense', units: 64, activation: 'relu' }, { type: 'Dense', units: 10, activation: 'softmax' }] } }))), 'other.convlab: the weights in the file do not fit its architecture'],
    ];
    for (const [name, buffer, needle] of cases) {
      await pick(name, buffer);
      await waitForText(page, '#models-error', needle);
      assert.equal(await page.locator('#models-error *').count(), 0);
      assert.ok(await page.locator('#train').isEnabled(), `${name}: the lab can still train`);
    }
    // Issue 34: a file larger than any model is refused by its size, unread (a sparse 2 GB file).
    const big = join(mkdtempSync(join(tmpdir(), 'convlab-big-')), 'big.convlab');
    const fd = openSync(big, 'w');
    ftruncateSync(fd, 2 ** 31);
    closeSync(fd);
    await page.setInputFiles('#model-file', big);
    await waitForText(page, '#models-error', 'big.convlab: 2147483648 bytes is more than a model file can be: the largest model convlab trains is saved in ');
    assert.ok(await page.locator('#train').isEnabled(), 'big.convlab: the lab can still train');
    assert.match(await text(page, '#summary'), /Total params: 101,770/, 'the model being edited is untouched');
    // The good file still loads.
    await pick('good.convlab', good);
    await waitForText(page, '#models-status', 'Loaded good.convlab');
    assert.ok(await page.locator('#models-error').isHidden());
  });
});

const PRIVATE_MODE = () => {
  const deny = (what) => () => { throw new DOMException(`Failed to read the '${what}' property from 'Window': Access is denied for this document.`, 'SecurityError'); };
  Object.defineProperty(window, 'localStorage', { get: deny('localStorage'), configurable: true });
  Object.defineProperty(window, 'indexedDB', { get: deny('indexedDB'), configurable: true });
};

const FULL = () => {
  Storage.prototype.setItem = function setItem(key) {
    throw new DOMException(`Failed to execute 'setItem' on 'Storage': Setting the value of '${key}' exceeded the quota.`, 'QuotaExceededError');
  };
  // A database at a newer version than the page asks for: the page's open request fails.
  indexedDB.open('convlab', 5);
};

test('storage: local storage off or full, IndexedDB blocked or failing: a clear message, and the lab still trains', { timeout: 180_000 }, async () => {
  // Private mode: neither local storage nor IndexedDB.
  await inBrowser('bad-input-private', { webgpu: false, context: { acceptDownloads: true } }, async (page, errors, context) => {
    await context.addInitScript(PRIVATE_MODE);
    await openWithFixtures(page);
    await waitForText(page, '#settings-error', 'the settings could not be saved in local storage (this browser gives the page no local storage (private mode, or storage turned off?): SecurityError: ');
    await waitForText(page, '#models-error', 'saved models are not available in this browser (IndexedDB is blocked: ');
    await trainBriefly(page, 'dnn', 64);
    assert.equal(await page.locator('#history tbody tr').count(), 1, 'the run is listed (for this visit)');
    await waitForText(page, '#settings-error', 'the run history could not be saved in local storage');
    await page.click('#model-save-browser');
    await waitForText(page, '#models-error', 'download the model as a file instead');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#model-save-file')]);
    assert.match(download.suggestedFilename(), /\.convlab$/);
  });

  // Full: every write to local storage throws QuotaExceededError; IndexedDB fails to open.
  await inBrowser('bad-input-full', { webgpu: false }, async (page, errors, context) => {
    await context.addInitScript(FULL);
    await openWithFixtures(page);
    await waitForText(page, '#models-error', 'saved models are not available in this browser (IndexedDB did not open: ');
    assert.match(await text(page, '#models-error'), /VersionError/);
    await setInput(page, '#epochs', 2);
    await waitForText(page, '#settings-error', 'the settings could not be saved in local storage (it is full: QuotaExceededError: ');
    assert.equal(await page.inputValue('#epochs'), '2', 'the edit itself holds');
    await trainBriefly(page, 'dnn', 64);
    await waitForText(page, '#settings-error', 'the run history could not be saved in local storage (it is full');
    assert.equal(await page.locator('#history tbody tr').count(), 1);
  });

  // Blocked: another tab holds the database open at an older version than the page asks for
  // (here: the page's request is bumped one version up) and never lets go.
  await inBrowser('bad-input-blocked', { webgpu: false }, async (page, errors, context) => {
    const holder = await context.newPage();
    await holder.goto(`${server.url}fixtures/`);
    await holder.evaluate(() => new Promise((done) => {
      const request = indexedDB.open('convlab', 1);
      request.onsuccess = () => { window.held = request.result; done(); };
    }));
    await context.addInitScript(() => {
      const open = IDBFactory.prototype.open;
      IDBFactory.prototype.open = function bumped(name, version) { return open.call(this, name, (version ?? 1) + 1); };
    });
    await openWithFixtures(page);
    await waitForText(page, '#models-error', 'saved models are not available in this browser (IndexedDB did not open within 5 s: another tab with this page may hold the database open; close it and reload)', 30_000);
    await trainBriefly(page, 'dnn', 64);
    // Once the other tab lets go, saving works without a reload.
    await holder.evaluate(() => window.held.close());
    await page.click('#model-save-browser');
    await waitForText(page, '#models-status', "Saved 'my model' in this browser.");
    await waitForText(page, '#models-list', 'my model');
    await holder.close();
  });
});
