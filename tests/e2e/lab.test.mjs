// The lab in the page, end to end: headless Chromium (Debian's) drives the Trunk build in
// dist/, served with the committed fixture data (3,000 train / 1,000 test real images) and the
// real dataset under data/. Run by scripts/test.sh after `trunk build --release`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inBrowser, servePage, setInput, text, trainBriefly, waitForText } from './browser.mjs';

const LOSS_MESSAGE = 'Reached the desired loss, so cancelling training!';

const server = servePage();

/** Records the wasm modules the page and its worker fetch (worker requests included). */
function wasmRequests(page) {
  const modules = [];
  page.on('request', (r) => {
    const name = new URL(r.url()).pathname.split('/').pop();
    if (name.endsWith('.wasm')) modules.push(name);
  });
  return modules;
}

async function openWithFixtures(page, query = '') {
  await page.goto(`${server.url}?data=fixtures/${query}`);
  await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
}

/** Pixel statistics of every feature-map canvas: its layer, size and distinct colours. */
function canvasStats(page, selector) {
  return page.$$eval(selector, (canvases) => canvases.map((c) => {
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const colours = new Set();
    let sum = 0;
    for (let i = 0; i < data.length; i += 4) {
      colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      sum += data[i] + data[i + 1] + data[i + 2];
    }
    return { layer: c.dataset.layer, width: c.width, height: c.height, colours: colours.size, mean: sum / (data.length / 4) };
  }));
}

test('CPU fallback: edit the model, train with the lab callback, see feature maps and history', { timeout: 600_000 }, async () => {
  await inBrowser('cpu-lab', { webgpu: false }, async (page) => {
    await openWithFixtures(page);
    await waitForText(page, '#backend', 'no WebGPU adapter');
    // The first 100 test labels with thumbnails (the lab's print(test_labels[:100])).
    assert.equal(await page.locator('#samples canvas').count(), 100);
    assert.match(await text(page, '#sample-labels'), /^\[9 2 1 1 6 1 4 6 5 7/);

    // Presets and Keras's parameter counts.
    await page.selectOption('#preset', 'cnn-64');
    await waitForText(page, '#summary', 'Total params: 243,786');
    await page.selectOption('#preset', 'cnn');
    await waitForText(page, '#summary', 'Total params: 113,386');
    assert.match(await text(page, '#summary'), /conv2d \(Conv2D\)\s+│ \(None, 26, 26, 32\)\s+│\s+320 │/);

    // Editing a layer updates the summary at once and marks the model as custom.
    await setInput(page, '#layers input[data-index="0"][data-field="filters"]', 16);
    await waitForText(page, '#summary', 'Total params: 108,618');
    assert.equal(await page.inputValue('#preset'), 'custom');

    // An impossible stack is refused inline, naming the layer, and cannot be trained.
    await setInput(page, '#layers input[data-index="0"][data-field="kernel"]', 29);
    await waitForText(page, '#model-error', 'layer 0 (Conv2D)');
    assert.equal(await page.locator('#layers tr[data-row="0"].bad').count(), 1);
    assert.ok(await page.locator('#train').isDisabled(), 'Train is disabled for an impossible model');
    // Removing a layer and adding a block back restores a buildable model.
    await setInput(page, '#layers input[data-index="0"][data-field="kernel"]', 3);
    await page.waitForFunction(() => document.querySelector('#model-error').hidden);
    await page.click('#layers button[data-action="remove"][data-index="0"]');
    await page.click('#layers button[data-action="remove"][data-index="0"]');
    await waitForText(page, '#summary', 'Total params: 693,962'); // cnn-1conv
    await page.click('button[data-add="block"]');
    await waitForText(page, '#summary', 'Total params: 113,386');

    // Train a short run on a subset with the lab's callback at a threshold epoch 1 beats.
    await setInput(page, '#epochs', 3);
    await setInput(page, '#train-limit', 256);
    await page.check('#stop-at-loss-on');
    await setInput(page, '#stop-at-loss', 5);
    await page.click('#train');
    await waitForText(page, '#callback-message', LOSS_MESSAGE, 120_000);
    assert.ok(await page.locator('#callback-message').isVisible());
    await waitForText(page, '#test-result', 'Test loss', 120_000);
    const log = await text(page, '#epoch-log');
    assert.match(log, /Epoch 1\/3\n8\/8 - [\d.]+s - loss: \d\.\d{4} - accuracy: \d\.\d{4}/);
    assert.ok(!log.includes('Epoch 2/3'), 'the callback stopped training after epoch 1');
    // The exact seconds behind the log's one decimal, one per epoch run.
    const seconds = (await page.getAttribute('#epoch-log', 'data-seconds')).split(',').map(Number);
    assert.equal(seconds.length, 1);
    assert.ok(seconds[0] > 0, `epoch seconds ${seconds}`);
    const logged = Number(log.match(/ - ([\d.]+)s - loss/)[1]);
    assert.ok(Math.abs(seconds[0] - logged) <= 0.0501, `exact ${seconds[0]} s, logged ${logged} s`);
    assert.ok((await page.locator('#train-progress').evaluate((p) => p.value)) > 0);
    assert.match(await text(page, '#test-result'), /on 1,000 test images/);
    assert.match(await text(page, '#worker-memory'), /^Worker memory \(wasm\): \d+\.\d MB after epoch 1$/);
    assert.equal(await page.locator('table.confusion tbody tr').count(), 10);
    assert.match(await text(page, 'table.confusion'), /Ankle boot/);

    // Feature maps of the trained model: 3 images x 4 layers, non-blank, different per layer.
    await waitForText(page, '#fm-status', 'Activations of the trained model');
    const cells = await canvasStats(page, '#fm-grid canvas');
    assert.equal(cells.length, 12);
    for (const cell of cells) assert.ok(cell.colours > 1, `a blank cell: ${JSON.stringify(cell)}`);
    const layers = [...new Set(cells.map((c) => `${c.layer}:${c.width}`))];
    assert.deepEqual(layers, ['conv2d:26', 'max_pooling2d:13', 'conv2d_1:11', 'max_pooling2d_1:5']);
    const conv = cells.find((c) => c.layer === 'conv2d');
    const pool = cells.find((c) => c.layer === 'max_pooling2d');
    assert.notEqual(conv.mean, pool.mean, 'conv and pool cells differ');
    assert.ok((await page.locator('#fm-all canvas').count()) === 32, 'every filter of one layer is shown');

    // The run is in the history, and still there after a reload, with the model and settings.
    assert.equal(await page.locator('#history tbody tr').count(), 1);
    assert.match(await text(page, '#history tbody'), /C32-P2-C32-P2-F-D128-D10[\s\S]*CPU[\s\S]*epoch 1: Reached the desired loss/);
    await page.reload();
    await waitForText(page, '#data-status', '3,000 training');
    assert.equal(await page.locator('#history tbody tr').count(), 1);
    assert.equal(await page.inputValue('#epochs'), '3');
    assert.ok(await page.isChecked('#stop-at-loss-on'));

    // Stop works within a batch: a long run stops when asked.
    await page.uncheck('#stop-at-loss-on');
    await setInput(page, '#epochs', 50);
    await page.click('#train');
    await waitForText(page, '#train-status', 'batch', 60_000);
    await page.click('#stop');
    await waitForText(page, '#callback-message', 'Training stopped by request', 60_000);
    await waitForText(page, '#test-result', 'Test loss', 60_000);
    assert.equal(await page.locator('#history tbody tr').count(), 2);
    assert.match(await text(page, '#history tbody tr:first-child'), / of 50/);
  });
});

test('WebGPU, forced: trains on the adapter and names it', { timeout: 600_000 }, async () => {
  await inBrowser('webgpu', { webgpu: true }, async (page) => {
    const modules = wasmRequests(page);
    await openWithFixtures(page, '&backend=webgpu');
    await waitForText(page, '#backend', 'WebGPU available');
    assert.equal(await page.inputValue('#backend-choice'), 'webgpu');
    // The page runs its CPU-only module; the worker the WebGPU build.
    assert.deepEqual(modules.sort(), ['convlab-web-cpu_bg.wasm', 'convlab-web-gpu_bg.wasm']);
    // While the student reads, the model on screen gets its first step compiled.
    await waitForText(page, '#warm-status', 'Ready to train on WebGPU (', 180_000);
    assert.match(await text(page, '#warm-status'), /first step is compiled \([\d.]+ s, done while you read\)/);
    await trainBriefly(page, 'dnn', 64, 300_000);
    assert.match(await text(page, '#backend'), /Backend: WebGPU \(/);
    assert.match(await text(page, '#epoch-log'), /Epoch 1\/1\n2\/2 - /);
    assert.match(await text(page, '#history tbody'), /WebGPU/);
    // Saving reads the weights back from the GPU without blocking.
    await page.click('#model-save-browser');
    await waitForText(page, '#models-status', "Saved 'my model' in this browser.");
    await waitForText(page, '#fm-status', 'no conv or pool layers');
    // The feature maps of an untrained CNN, on WebGPU too.
    await page.selectOption('#preset', 'cnn-1conv');
    await page.click('#fm-show');
    await waitForText(page, '#fm-status', 'untrained model', 120_000);
    const cells = await canvasStats(page, '#fm-grid canvas');
    assert.equal(cells.length, 6);
    for (const cell of cells) assert.ok(cell.colours > 1, `a blank cell: ${JSON.stringify(cell)}`);
  });
});

test('automatic backend: SwiftShader\'s WebGPU is timed against the CPU, the CPU trains, and the choice is remembered', { timeout: 600_000 }, async () => {
  await inBrowser('auto-backend', { webgpu: true }, async (page) => {
    await openWithFixtures(page);
    assert.equal(await page.inputValue('#backend-choice'), 'auto');
    await waitForText(page, '#backend', 'whichever trains this model faster');
    // Both backends timed on the lab's CNN while the student reads: SwiftShader emulates a
    // GPU on the CPU, so burn's own CPU backend is faster here.
    await waitForText(page, '#warm-status', 'Ready to train on CPU (burn-flex): faster here than WebGPU (', 300_000);
    const status = await text(page, '#warm-status');
    const figures = status.match(/WebGPU ([\d.,]+) samples\/s, CPU ([\d.,]+) samples\/s/);
    assert.ok(figures, status);
    const [webgpu, cpu] = figures.slice(1).map((f) => Number(f.replace(/,/g, '')));
    assert.ok(cpu > webgpu && webgpu > 0, status);
    assert.match(status, /Timed in [\d.]+ s while you read\./);

    await setInput(page, '#epochs', 1);
    await setInput(page, '#train-limit', 64);
    await page.click('#train');
    await waitForText(page, '#test-result', 'Test loss', 300_000);
    assert.match(await text(page, '#backend'), /Backend: CPU \(burn-flex\): faster here than WebGPU \(.*\) for this model \(WebGPU [\d.,]+ samples\/s, CPU [\d.,]+ samples\/s\)/);
    assert.match(await text(page, '#history tbody tr:first-child'), /CPU \(burn-flex\)/);

    // A reload remembers the timing for this adapter, model and batch size.
    await page.reload();
    await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
    await waitForText(page, '#warm-status', 'as timed earlier in this browser', 120_000);
    assert.ok((await text(page, '#warm-status')).includes(figures[0]), 'the same figures');
    // Another batch size is timed afresh.
    await setInput(page, '#batch-size', 64);
    await waitForText(page, '#warm-status', 'Timing this model on WebGPU and on the CPU');
  });
});

test('without WebGPU (or with it switched off) only the CPU module is fetched; a WebGPU module that fails to load falls back to the CPU', { timeout: 600_000 }, async () => {
  await inBrowser('cpu-module', { webgpu: false }, async (page) => {
    const modules = wasmRequests(page);
    await openWithFixtures(page);
    await waitForText(page, '#backend', 'no WebGPU adapter');
    await waitForText(page, '#warm-status', 'Ready to train on CPU (burn-flex)');
    await trainBriefly(page, 'dnn', 64, 300_000);
    assert.deepEqual(modules, ['convlab-web-cpu_bg.wasm'], 'the WebGPU build is never downloaded');
  });
  // WebGPU switched off in the URL: the adapter is there, the WebGPU build is not fetched.
  await inBrowser('webgpu-off', { webgpu: true }, async (page) => {
    const modules = wasmRequests(page);
    await page.goto(`${server.url}?data=fixtures/&webgpu=0`);
    await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
    await trainBriefly(page, 'dnn', 64, 300_000);
    assert.match(await text(page, '#backend'), /Backend: CPU \(burn-flex\)/);
    assert.deepEqual(modules, ['convlab-web-cpu_bg.wasm']);
  });
  await inBrowser('gpu-module-missing', { webgpu: true }, async (page, errors) => {
    await page.context().route('**/convlab-web-gpu_bg.wasm', (route) => route.fulfill({ status: 404, body: 'gone' }));
    await openWithFixtures(page);
    await trainBriefly(page, 'dnn', 64, 300_000);
    const backend = await text(page, '#backend');
    assert.match(backend, /Backend: CPU \(burn-flex\) \(WebGPU adapter: .*; convlab's WebGPU module did not load: /);
    assert.match(await text(page, '#epoch-log'), /Epoch 1\/1\n2\/2 - /);
    // worker.js logs why it fell back (and Chromium the 404); nothing else.
    assert.ok(errors.length > 0 && errors.every((e) => /404|WebGPU module did not load/.test(e)), JSON.stringify(errors));
    errors.length = 0;
  });
});

test('the real dataset downloads with progress once, then comes from the cache', { timeout: 300_000 }, async () => {
  await inBrowser('real-data', { webgpu: false }, async (page) => {
    const downloads = [];
    page.on('request', (r) => { if (r.url().endsWith('.gz')) downloads.push(r.url()); });
    await page.goto(server.url);
    await waitForText(page, '#data-status', '60,000 training and 10,000 test images', 120_000);
    assert.equal(downloads.length, 4, `four files fetched: ${downloads}`);
    assert.equal(await page.locator('#data-progress').evaluate((p) => p.value), 1);
    const cached = await page.evaluate(async () => (await (await caches.open('convlab-data-v1')).keys()).length);
    assert.equal(cached, 4);
    await page.reload();
    await waitForText(page, '#data-status', '60,000 training', 120_000);
    assert.equal(downloads.length, 4, 'a reload takes the data from the cache');
  });
});

test('missing data gets a clear message and a working retry', { timeout: 120_000 }, async () => {
  await inBrowser('bad-data', { webgpu: false }, async (page, errors) => {
    await page.goto(`${server.url}?data=no-such-folder/`);
    await waitForText(page, '#data-error', 'HTTP 404');
    assert.match(await text(page, '#data-error'), /no-such-folder\/train-images-idx3-ubyte\.gz/);
    assert.ok(await page.locator('#train').isDisabled());
    errors.length = 0; // the browser logs the 404 itself
    await setInput(page, '#data-url', 'fixtures/');
    await page.click('#data-load');
    await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
    assert.ok(await page.locator('#data-error').isHidden());
    assert.ok(await page.locator('#train').isEnabled());
  });
});
