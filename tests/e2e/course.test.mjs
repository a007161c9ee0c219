// Course sites: the lab embedded in a host page (URL setup, events, commands, locks), shared
// links, saved models (IndexedDB and files) and offline use. Same set-up as lab.test.mjs: the
// Trunk build in dist/ with the committed fixture data, in Debian's headless Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from './server.mjs';
import { inBrowser, setInput, text, trainBriefly, waitForText } from './browser.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIST = process.env.CONVLAB_DIST ?? join(ROOT, 'dist');
const FIXTURES = join(ROOT, 'tests/fixtures/fashion-mnist');
const ROUTES = { '/fixtures/': FIXTURES, '/': DIST };

let server; // the course site and the lab
let foreign; // another origin, not allowed to command the lab
before(async () => {
  server = await serve(ROUTES);
  foreign = await serve(ROUTES);
});
after(async () => { await server?.close(); await foreign?.close(); });

const origin = (url) => new URL(url).origin;

async function frameOf(page, selector) {
  const handle = await page.waitForSelector(selector);
  return handle.contentFrame();
}

/** Waits until the host page has received an event matching `match`, and returns it. */
async function hostEvent(page, match, timeout = 120_000) {
  const handle = await page.waitForFunction(
    (m) => window.convlabEvents.find((e) => Object.entries(m).every(([k, v]) => e[k] === v)),
    match,
    { timeout },
  ).catch(async (e) => {
    const seen = await page.evaluate(() => window.convlabEvents.map((x) => `${x.id}:${x.type}`));
    throw new Error(`no event ${JSON.stringify(match)}; seen ${seen} (${e.message})`);
  });
  return handle.jsonValue();
}

async function openWithFixtures(page, base = server.url, query = '') {
  await page.goto(`${base}?data=fixtures/${query}`);
  await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
}

test('a course page embeds two labs set up by URL; events reach it, locks hold, commands obey the allowed origin only', { timeout: 600_000 }, async () => {
  await inBrowser('course', {}, async (page) => {
    await page.goto(`${server.url}course.html?data=fixtures/`);
    const a = await frameOf(page, '#lab-a');
    const b = await frameOf(page, '#lab-b');
    const readyA = await hostEvent(page, { id: 'lab-a', type: 'ready' });
    const readyB = await hostEvent(page, { id: 'lab-b', type: 'ready' });
    assert.equal(readyA.preset, 'cnn');
    assert.equal(readyA.params, 113386);
    assert.equal(readyB.layers, 'conv:32:3:relu,pool:2,flatten,dense:128:relu,dense:10:softmax');

    // Lab A: only the model and training panels; the model is locked, sharing hidden.
    for (const [panel, shown] of [['#data-panel', false], ['#model-panel', true], ['#train-panel', true], ['#maps-panel', false], ['#code-panel', false], ['#share-bar', false]]) {
      assert.equal(await a.locator(panel).isVisible(), shown, `${panel} visible: ${shown}`);
    }
    assert.ok(await a.locator('#preset').isDisabled(), 'the preset is locked');
    assert.ok(await a.locator('#editor button[data-add="block"]').isDisabled(), 'the layer editor is locked');
    assert.ok(await a.locator('#layers input[data-index="0"][data-field="filters"]').isDisabled(), 'the layer fields are locked');
    assert.ok(await a.locator('#epochs').isEnabled(), 'the settings are not locked');
    assert.ok(await a.locator('#model-file').isDisabled(), 'loading another model is locked too');
    assert.equal(await a.inputValue('#epochs'), '1');
    // Lab B: its own model and the callback from the URL.
    assert.ok(await b.locator('#model-panel').isHidden());
    assert.ok(await b.locator('#maps-panel').isVisible());
    assert.ok(await b.isChecked('#stop-at-loss-on'));
    assert.equal(await b.inputValue('#stop-at-loss'), '0.4');
    assert.equal(await b.inputValue('#epochs'), '10');

    // The host commands lab A: switch preset (even though the student cannot), then train.
    await page.click('#preset-a');
    await waitForText(a, '#summary', 'Total params: 55,098');
    assert.ok(await a.locator('#preset').isDisabled(), 'still locked after the command');
    await page.click('#start-a');
    const started = await hostEvent(page, { id: 'lab-a', type: 'training_started' });
    assert.equal(started.params, 55098);
    assert.equal(started.epochs, 1);
    const epoch = await hostEvent(page, { id: 'lab-a', type: 'epoch_end' });
    assert.equal(epoch.epoch, 1);
    assert.ok(epoch.loss > 0 && epoch.loss < 3, `epoch loss ${epoch.loss}`);
    assert.ok(epoch.accuracy > 0.3, `epoch accuracy ${epoch.accuracy}`);
    const finished = await hostEvent(page, { id: 'lab-a', type: 'finished' });
    assert.ok(finished.test_accuracy > 0.5 && finished.test_accuracy <= 1, `test accuracy ${finished.test_accuracy}`);
    assert.equal(finished.epochs_run, 1);
    assert.match(finished.summary, /Total params: 55,098/);
    // The metrics are the ones the lab shows.
    assert.match(await text(a, '#test-result'), new RegExp(`test accuracy ${finished.test_accuracy.toFixed(4)}`));
    await waitForText(page, '#grade-a', 'Test accuracy');
    // Lab B's callback stop reaches the host with its reason (loss < 0.4 takes a few epochs).
    await b.click('#train');
    const stop = await hostEvent(page, { id: 'lab-b', type: 'early_stop' }, 300_000);
    assert.equal(stop.reason, 'loss_threshold');
    assert.equal(stop.message, 'Reached the desired loss, so cancelling training!');
    await hostEvent(page, { id: 'lab-b', type: 'finished' }, 120_000);
  });

  // A page on another origin embeds a lab that allows only the course site: its commands are
  // ignored (and said so in the console), and it hears no events.
  await inBrowser('foreign-origin', {}, async (page) => {
    const warnings = [];
    page.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
    await page.goto(`${foreign.url}course.html`);
    await page.evaluate(([src]) => {
      window.heard = [];
      window.addEventListener('message', (e) => window.heard.push(e.data));
      document.body.innerHTML = `<iframe id="lab" src="${src}" style="width:1200px;height:900px"></iframe>`;
    }, [`${server.url}index.html?data=fixtures/&preset=dnn&epochs=1&train_images=64&allow=${origin(server.url)}`]);
    const lab = await frameOf(page, '#lab');
    await waitForText(lab, '#data-status', '3,000 training');
    await page.evaluate(() => document.getElementById('lab').contentWindow.postMessage({ command: 'start' }, '*'));
    await page.waitForTimeout(3000);
    assert.equal(await text(lab, '#train-status'), '', 'no training started');
    assert.match(await text(lab, '#test-result'), /Train a model/);
    assert.ok(
      warnings.some((w) => w.includes(`ignored a command from ${origin(foreign.url)}`)),
      `the lab said it ignored the command: ${warnings}`,
    );
    assert.deepEqual(await page.evaluate(() => window.heard.filter((m) => m?.source === 'convlab')), []);
  });
});

test('a shared link restores the model and settings exactly; bad URL values are named', { timeout: 300_000 }, async () => {
  await inBrowser('share', {}, async (page, errors, context) => {
    await openWithFixtures(page);
    await setInput(page, '#layers input[data-index="0"][data-field="filters"]', 16);
    await waitForText(page, '#summary', 'Total params: 108,618');
    await setInput(page, '#epochs', 7);
    await setInput(page, '#batch-size', 64);
    await setInput(page, '#seed', 9);
    await page.check('#stop-at-loss-on');
    await setInput(page, '#stop-at-loss', 0.3);
    await waitForText(page, '#keras-code', 'epochs=7, batch_size=64');
    const code = await text(page, '#keras-code');
    assert.match(code, /tf\.keras\.layers\.Conv2D\(16, \(3, 3\), activation='relu', input_shape=\(28, 28, 1\)\)/);
    assert.match(code, /logs\['loss'\] < 0\.3/);
    await page.click('#share');
    const link = await page.inputValue('#share-link');
    assert.match(link, /\?layers=conv:16:3:relu,pool:2,conv:32:3:relu,pool:2,flatten,dense:128:relu,dense:10:softmax&epochs=7&batch_size=64/);

    // A fresh browser profile (no saved state) opening the link gets the same experiment.
    const other = await context.browser().newContext();
    const shared = await other.newPage();
    shared.on('pageerror', (e) => errors.push(String(e)));
    await shared.goto(link);
    await waitForText(shared, '#data-status', '3,000 training');
    assert.match(await text(shared, '#summary'), /Total params: 108,618/);
    assert.equal(await shared.inputValue('#preset'), 'custom');
    for (const [id, value] of [['#epochs', '7'], ['#batch-size', '64'], ['#seed', '9'], ['#stop-at-loss', '0.3']]) {
      assert.equal(await shared.inputValue(id), value, id);
    }
    assert.ok(await shared.isChecked('#stop-at-loss-on'));
    assert.equal(await text(shared, '#keras-code'), code, 'the same Keras code');
    await other.close();

    // In the first profile: a student's edits of a linked exercise survive a reload, Reset
    // puts the link's setup back, and the lab's own saved state is not touched by either.
    await page.goto(link);
    await waitForText(page, '#data-status', '3,000 training');
    assert.equal(await page.inputValue('#epochs'), '7');
    await setInput(page, '#epochs', 2);
    await page.reload();
    await waitForText(page, '#data-status', '3,000 training');
    assert.equal(await page.inputValue('#epochs'), '2');
    await page.click('#setup-reset');
    assert.equal(await page.inputValue('#epochs'), '7');
    await setInput(page, '#epochs', 2);
    await page.goto(`${server.url}?data=fixtures/`);
    await waitForText(page, '#data-status', '3,000 training');
    assert.equal(await page.inputValue('#epochs'), '7');
    assert.ok(await page.locator('#setup-reset').isHidden());

    await page.goto(`${server.url}?data=fixtures/&epochs=lots&layers=conv:32,pool:x&panels=model,graphs`);
    await waitForText(page, '#setup-error', "epochs='lots' is not a whole number");
    const problems = await text(page, '#setup-error');
    assert.match(problems, /layers: layer 1 'pool:x': pool 'x' is not a whole number/);
    assert.match(problems, /panels: unknown name 'graphs'/);
    assert.ok(await page.locator('#model-panel').isVisible());
    assert.ok(await page.locator('#train-panel').isHidden());

    // Issue 34: a panels= list with no known name is named and ignored: every panel shows.
    await page.goto(`${server.url}?data=fixtures/&panels=graphs,nonsense`);
    await waitForText(page, '#setup-error', "panels: unknown name 'nonsense'");
    assert.match(await text(page, '#setup-error'), /no known panel is named, so every panel is shown/);
    assert.ok(await page.locator('#model-panel').isVisible());
    assert.ok(await page.locator('#train-panel').isVisible());
  });
});

test('a trained model saved in the browser and as a file loads back with the same test accuracy; other files are refused', { timeout: 300_000 }, async () => {
  await inBrowser('models', { context: { acceptDownloads: true } }, async (page) => {
    await openWithFixtures(page);
    assert.ok(await page.locator('#model-save-file').isDisabled(), 'nothing to save before training');
    await trainBriefly(page, 'cnn-1conv', 500);
    const accuracy = (await text(page, '#test-result')).match(/test accuracy (\d\.\d{4})/)[1];

    await setInput(page, '#model-name', 'one conv');
    await page.click('#model-save-browser');
    await waitForText(page, '#models-status', "Saved 'one conv' in this browser.");
    await waitForText(page, '#models-list', 'C32-P2-F-D128-D10');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#model-save-file')]);
    assert.equal(download.suggestedFilename(), 'one_conv.convlab');
    const file = join(mkdtempSync(join(tmpdir(), 'convlab-e2e-')), download.suggestedFilename());
    await download.saveAs(file);
    const bytes = readFileSync(file);
    assert.equal(bytes.subarray(0, 8).toString(), 'CONVLABM');

    // After a reload, with another model in the editor, load the saved one back.
    await page.reload();
    await waitForText(page, '#data-status', '3,000 training');
    await page.selectOption('#preset', 'dnn');
    await waitForText(page, '#models-list', 'one conv');
    await page.click('#models-list button[data-load-model]');
    await waitForText(page, '#models-status', "Loaded saved model 'one conv'");
    assert.match(await text(page, '#models-status'), new RegExp(`test accuracy ${accuracy} \\(when saved: ${accuracy}\\)`));
    assert.equal(await page.inputValue('#preset'), 'cnn-1conv');
    await waitForText(page, '#fm-status', 'Activations of the trained model');

    // The downloaded file, picked from disk: the same accuracy.
    await page.selectOption('#preset', 'dnn');
    await page.setInputFiles('#model-file', file);
    await waitForText(page, '#models-status', 'Loaded one_conv.convlab');
    assert.match(await text(page, '#models-status'), new RegExp(`test accuracy ${accuracy} `));

    // Not a model: refused, naming the file and the bytes.
    await page.setInputFiles('#model-file', { name: 'notes.convlab', mimeType: 'text/plain', buffer: Buffer.from('my notes are not a model') });
    await waitForText(page, '#models-error', 'notes.convlab: not a convlab model file: bytes 0-7 are "my notes"');
    // A file whose weights belong to another architecture: refused, naming the layer.
    const headerLength = bytes.readUInt32LE(12);
    const header = JSON.parse(bytes.subarray(16, 16 + headerLength).toString());
    header.spec.layers[0].filters = 64;
    const json = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(json.length);
    const forged = Buffer.concat([bytes.subarray(0, 12), length, json, bytes.subarray(16 + headerLength)]);
    await page.setInputFiles('#model-file', { name: 'forged.convlab', mimeType: 'application/octet-stream', buffer: forged });
    await waitForText(page, '#models-error', 'forged.convlab: the weights in the file do not fit its architecture');
    assert.match(await text(page, '#models-error'), /layer 0 \(Conv2D\)/);

    // The CLI evaluates the page's file natively to the same accuracy (built by cargo test).
    // (scripts/env.sh's build folder, or the workspace's own)
    const folders = [process.env.CARGO_TARGET_DIR, join(homedir(), '.cache/convlab/target'), join(ROOT, 'target')];
    const cli = folders.filter(Boolean).map((f) => join(f, 'release', 'convlab')).find(existsSync);
    assert.ok(cli, `the convlab binary is built in one of ${folders}`);
    const out = execFileSync(cli, ['evaluate', file, '--data', FIXTURES], { encoding: 'utf8' });
    assert.match(out, new RegExp(`accuracy: ${accuracy} \\(1000 images\\)`));

    // Delete removes it from the list.
    await page.click('#models-list button[data-delete-model]');
    await waitForText(page, '#models-list', 'No models saved in this browser yet.');
  });
});

test('the page works offline once loaded: reload and train with the server stopped', { timeout: 300_000 }, async () => {
  const own = await serve(ROUTES);
  await inBrowser('offline', {}, async (page, errors) => {
    await openWithFixtures(page, own.url);
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
    await own.close();
    await page.reload();
    await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
    await trainBriefly(page, 'dnn', 128);
    // The browser reports the refused connections of the network-first requests; nothing else.
    const others = errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to fetch|net::/.test(e));
    errors.length = 0;
    assert.deepEqual(others, []);
  });
});
