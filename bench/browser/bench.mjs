// convlab vs TensorFlow.js in the same headless Chromium, same run: the lab CNN, Adam, the same
// real Fashion-MNIST images (the committed fixture: first 3,000 train / 1,000 test), the same
// batch size and number of samples. Prints a Markdown table for BENCHMARKS.md.
//   node bench.mjs [--batch 32,128] [--samples 320] [--epochs 3] [--runs 1] [--memory-epochs 20]
// --memory-epochs N adds a long run (N epochs, batch 32) of convlab's CPU fallback and TF.js's
// cpu backend, reporting memory at epochs 2 and N.
// Needs `trunk build --release` (dist/) and `npm ci` here. See scripts/bench-browser.sh.
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { chromium } from 'playwright-core';
import { serve } from '../../tests/e2e/server.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const BATCHES = arg('batch', '32').split(',').map(Number);
const SAMPLES = Number(arg('samples', '320'));
const EPOCHS = Number(arg('epochs', '3'));
const RUNS = Number(arg('runs', '1'));
const ONLY = arg('only', '');
const MEMORY_EPOCHS = Number(arg('memory-epochs', '0'));

const server = await serve({
  '/fixtures/': join(ROOT, 'tests/fixtures/fashion-mnist'),
  '/bench/': join(ROOT, 'bench/browser'),
  '/': join(ROOT, 'dist'),
});

async function browser(webgpu, extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking',
      ...(webgpu ? ['--enable-unsafe-webgpu'] : []), ...extraArgs],
  });
}

// For the memory runs: exact (not bucketed) performance.memory, and gc() so that each reading
// is taken after a full collection rather than wherever V8's next GC happens to be.
const MEMORY_FLAGS = ['--enable-precise-memory-info', '--js-flags=--expose-gc'];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** convlab's page, driven like a student: settings, Train, then the epoch log and test result. */
async function convlab(webgpu, batch) {
  const b = await browser(webgpu);
  try {
    const page = await (await b.newContext()).newPage();
    // The worker logs each epoch's checkpoint (console.debug): its size and how long it took.
    const checkpoints = [];
    const snapshots = [];
    page.on('console', (m) => {
      const x = m.text().match(/^convlab checkpoint: epochs (\d+), (\d+) bytes, ([\d.]+) ms/);
      if (x) checkpoints.push({ epochs: Number(x[1]), bytes: Number(x[2]), ms: Number(x[3]) });
      // And each snapshot for "Watch the filters learn" (kernels and the watched images' maps).
      const y = m.text().match(/^convlab snapshot: epoch (\d+), ([\d.]+) ms/);
      if (y) snapshots.push({ epoch: Number(y[1]), ms: Number(y[2]) });
    });
    const url = `${server.url}?data=/fixtures/`;
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('#data-status').textContent.includes('ready'), null, { timeout: 120_000 });
    await page.fill('#epochs', String(EPOCHS));
    await page.fill('#batch-size', String(batch));
    await page.fill('#train-limit', String(SAMPLES));
    await page.selectOption('#preset', 'cnn');
    await page.setChecked('#prefer-webgpu', webgpu);
    // Where a cold start goes: page-clock times (from navigation) of the worker's module
    // running (the data status leaves "Starting the training worker"), the data being ready,
    // Train, the backend's device being ready (the badge names it), and the first step.
    await page.addInitScript(() => {
      const marks = (window.coldMarks = {});
      new MutationObserver(() => {
        const status = document.querySelector('#data-status')?.textContent ?? '';
        if (status.includes('Starting the training worker')) marks.starting = true;
        else if (marks.starting && !marks.worker) marks.worker = performance.now();
        if (!marks.data && status.includes('ready')) marks.data = performance.now();
        const badge = document.querySelector('#backend')?.textContent;
        if (marks.train && !marks.backend && badge !== marks.badge) marks.backend = performance.now();
      }).observe(document, { subtree: true, childList: true, characterData: true });
    });
    // Cold page to first step with the data cached: reload (settings are kept), train at once.
    const t0 = Date.now();
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#data-status').textContent.includes('ready'), null, { timeout: 120_000 });
    await page.evaluate(() => {
      window.coldMarks.badge = document.querySelector('#backend').textContent;
      window.coldMarks.train = performance.now();
    });
    await page.click('#train');
    // The progress bar moves with the first batch event (one per batch on runs this short).
    await page.waitForFunction(() => {
      const moved = document.querySelector('#train-progress').value > 0;
      if (moved) window.coldMarks.first ??= performance.now();
      return moved;
    }, null, { timeout: 600_000, polling: 10 });
    const firstStep = Date.now() - t0;
    const marks = await page.evaluate(() => window.coldMarks);
    const cold = {
      worker: marks.worker,
      data: marks.data - (marks.worker ?? 0),
      backend: marks.backend - marks.train,
      step: marks.first - marks.backend,
    };
    await page.waitForFunction(() => document.querySelector('#test-result').textContent.includes('Test loss'), null, { timeout: 1_800_000 });
    // Each epoch's exact seconds (the log's own figures have one decimal).
    const seconds = (await page.getAttribute('#epoch-log', 'data-seconds')).split(',').map(Number);
    // Steady state: the epochs after the first (which compiles kernels).
    const steady = seconds.slice(1);
    const sps = (steady.length * SAMPLES) / steady.reduce((a, c) => a + c, 0);
    const test = (await page.locator('#test-result').textContent()).match(/test accuracy ([\d.]+)/)[1];
    const backend = (await page.locator('#backend').textContent()).replace('Backend: ', '');
    // The checkpoints of this run (the reload's), against its steady epochs' mean.
    const taken = checkpoints.slice(-seconds.length);
    const checkpoint = taken.length ? {
      ms: median(taken.map((c) => c.ms)),
      bytes: taken[0].bytes,
      share: median(taken.map((c) => c.ms)) / (1000 * steady.reduce((a, c) => a + c, 0) / steady.length),
    } : undefined;
    // The snapshots after each epoch of this run (epoch 0's, before training, is not in an epoch).
    const epochEnds = snapshots.slice(-seconds.length);
    const snapshot = epochEnds.length ? {
      ms: median(epochEnds.map((c) => c.ms)),
      share: median(epochEnds.map((c) => c.ms)) / (1000 * steady.reduce((a, c) => a + c, 0) / steady.length),
    } : undefined;
    return { name: `convlab ${webgpu ? 'WebGPU' : 'CPU fallback'}`, backend, sps, firstStep, cold, accuracy: Number(test), checkpoint, snapshot };
  } finally {
    await b.close();
  }
}

async function tfjs(backend, batch) {
  const b = await browser(backend === 'webgpu');
  try {
    const page = await b.newPage();
    const t0 = Date.now();
    await page.goto(`${server.url}bench/tfjs.html?backend=${backend}&batch=${batch}&samples=${SAMPLES}&epochs=${EPOCHS}&data=/fixtures/`);
    await page.waitForFunction(() => window.result !== undefined, null, { timeout: 1_800_000, polling: 200 });
    const r = await page.evaluate(() => window.result);
    if (r.error) return { name: `TF.js ${backend}`, backend, error: r.error };
    return { name: `TF.js ${backend}`, backend, sps: r.samples_per_second, firstStep: r.first_step_ms, accuracy: r.test_accuracy, t0 };
  } finally {
    await b.close();
  }
}

/** convlab's CPU fallback for `epochs` epochs: its worker's wasm memory and the page's JS heap per epoch. */
async function convlabMemory(epochs) {
  const b = await browser(false, MEMORY_FLAGS);
  try {
    const page = await (await b.newContext()).newPage();
    await page.goto(`${server.url}?data=/fixtures/`);
    await page.waitForFunction(() => document.querySelector('#data-status').textContent.includes('ready'), null, { timeout: 120_000 });
    await page.selectOption('#preset', 'cnn');
    await page.fill('#epochs', String(epochs));
    await page.fill('#batch-size', '32');
    await page.fill('#train-limit', String(SAMPLES));
    await page.setChecked('#prefer-webgpu', false);
    // The page's heap is sampled at each epoch end, as the epoch log grows.
    await page.evaluate(() => {
      window.heap = [];
      new MutationObserver(() => { globalThis.gc?.(); window.heap.push(performance.memory.usedJSHeapSize); })
        .observe(document.querySelector('#worker-memory'), { childList: true, characterData: true, subtree: true });
    });
    await page.click('#train');
    await page.waitForFunction(() => document.querySelector('#test-result').textContent.includes('Test loss'), null, { timeout: 3_600_000 });
    const wasm = (await page.getAttribute('#worker-memory', 'data-bytes')).split(',').map(Number);
    const heap = await page.evaluate(() => window.heap);
    return { wasm, heap };
  } finally {
    await b.close();
  }
}

async function tfjsMemory(epochs) {
  const b = await browser(false, MEMORY_FLAGS);
  try {
    const page = await b.newPage();
    await page.goto(`${server.url}bench/tfjs.html?backend=cpu&batch=32&samples=${SAMPLES}&epochs=${epochs}&data=/fixtures/`);
    await page.waitForFunction(() => window.result !== undefined, null, { timeout: 3_600_000, polling: 500 });
    // `return await`: a bare returned promise would let `finally` close the browser first
    // ("Target page, context or browser has been closed").
    return await page.evaluate(() => window.result.memory);
  } finally {
    await b.close();
  }
}

const rows = [];
for (const batch of BATCHES) {
  const candidates = [
    ['convlab-webgpu', () => convlab(true, batch)],
    ['convlab-cpu', () => convlab(false, batch)],
    ['tfjs-cpu', () => tfjs('cpu', batch)],
    ['tfjs-wasm', () => tfjs('wasm', batch)],
    ['tfjs-webgl', () => tfjs('webgl', batch)],
    ['tfjs-webgpu', () => tfjs('webgpu', batch)],
  ].filter(([name]) => !ONLY || ONLY.split(',').includes(name));
  for (const [name, run] of candidates) {
    const results = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await run();
      results.push(r);
      console.error(`${name} batch ${batch} run ${i + 1}: ${JSON.stringify(r)}`);
      if (r.error) break;
    }
    const ok = results.filter((r) => !r.error);
    rows.push(ok.length
      ? { batch, name, backend: ok[0].backend, sps: median(ok.map((r) => r.sps)), firstStep: median(ok.map((r) => r.firstStep)), accuracy: median(ok.map((r) => r.accuracy)), runs: ok.length,
          checkpoint: ok[0].checkpoint && { ms: median(ok.map((r) => r.checkpoint.ms)), bytes: ok[0].checkpoint.bytes, share: median(ok.map((r) => r.checkpoint.share)) },
          snapshot: ok[0].snapshot && { ms: median(ok.map((r) => r.snapshot.ms)), share: median(ok.map((r) => r.snapshot.share)) },
          cold: ok[0].cold && Object.fromEntries(Object.keys(ok[0].cold).map((k) => [k, median(ok.map((r) => r.cold[k]))])) }
      : { batch, name, error: results[0].error });
  }
}

console.log(`machine: ${cpus().length} cores, ${cpus()[0].model}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`settings: lab CNN, ${SAMPLES} fixture images x ${EPOCHS} epochs, test on 1,000; median of ${RUNS} run(s)\n`);
console.log('| batch | trainer | backend | samples/s (steady) | first step from page load (ms) | test accuracy | vs fastest TF.js |');
console.log('|---|---|---|---|---|---|---|');
for (const batch of BATCHES) {
  const here = rows.filter((r) => r.batch === batch);
  const best = Math.max(0, ...here.filter((r) => r.name.startsWith('tfjs') && !r.error).map((r) => r.sps));
  for (const r of here) {
    if (r.error) {
      console.log(`| ${batch} | ${r.name} | – | cannot train: ${r.error.slice(0, 120).replaceAll('|', '/')} | – | – | – |`);
    } else {
      console.log(`| ${batch} | ${r.name} | ${r.backend} | ${r.sps.toFixed(1)} | ${Math.round(r.firstStep)} | ${r.accuracy.toFixed(4)} | ${best ? (r.sps / best).toFixed(2) + 'x' : '–'} |`);
    }
  }
}

const colds = rows.filter((r) => r.cold);
if (colds.length) {
  console.log('\nconvlab\'s cold start, where it goes (ms, medians; page clock from navigation):\n');
  console.log('| batch | trainer | navigation -> worker module running | -> dataset ready (from cache) | Train -> backend device ready | device ready -> first step done (model, kernels) |');
  console.log('|---|---|---|---|---|---|');
  const ms = (v) => (Number.isFinite(v) ? Math.round(v) : '–');
  for (const r of colds) {
    console.log(`| ${r.batch} | ${r.name} | ${ms(r.cold.worker)} | ${ms(r.cold.data)} | ${ms(r.cold.backend)} | ${ms(r.cold.step)} |`);
  }
}

const checkpointed = rows.filter((r) => r.checkpoint);
if (checkpointed.length) {
  console.log('\nconvlab\'s checkpoint at each epoch end (weights and Adam state read back to the CPU side; medians):\n');
  console.log('| batch | trainer | checkpoint size | time per checkpoint (ms) | share of a steady epoch |');
  console.log('|---|---|---|---|---|');
  for (const r of checkpointed) {
    console.log(`| ${r.batch} | ${r.name} | ${(r.checkpoint.bytes / 1e6).toFixed(2)} MB | ${r.checkpoint.ms.toFixed(1)} | ${(r.checkpoint.share * 100).toFixed(2)}% |`);
  }
}

const snapshotted = rows.filter((r) => r.snapshot);
if (snapshotted.length) {
  console.log('\nconvlab\'s snapshot at each epoch end (every conv kernel and test images 0, 23, 28 through each conv and pool layer, read back; medians):\n');
  console.log('| batch | trainer | time per snapshot (ms) | share of a steady epoch |');
  console.log('|---|---|---|---|');
  for (const r of snapshotted) {
    console.log(`| ${r.batch} | ${r.name} | ${r.snapshot.ms.toFixed(1)} | ${(r.snapshot.share * 100).toFixed(2)}% |`);
  }
}

if (MEMORY_EPOCHS >= 3) {
  const mb = (b) => (b / 1e6).toFixed(1);
  const change = (xs) => `${mb(xs[1])} -> ${mb(xs[xs.length - 1])} MB (${((xs[xs.length - 1] / xs[1] - 1) * 100).toFixed(1)}%)`;
  const ours = await convlabMemory(MEMORY_EPOCHS);
  console.log(`\nMemory over ${MEMORY_EPOCHS} epochs of ${SAMPLES} images, batch 32 (epoch 2 -> epoch ${MEMORY_EPOCHS}):\n`);
  console.log('| trainer | what | epoch 2 -> last |');
  console.log('|---|---|---|');
  console.log(`| convlab-cpu | worker wasm memory | ${change(ours.wasm)} |`);
  console.log(`| convlab-cpu | page JS heap | ${change(ours.heap)} |`);
  // TF.js's run is the long one (~30 samples/s): convlab's rows are printed first.
  try {
    const theirs = await tfjsMemory(MEMORY_EPOCHS);
    console.log(`| tfjs-cpu | tf.memory().numBytes | ${change(theirs.map((m) => m.tensor_bytes))} |`);
    console.log(`| tfjs-cpu | page JS heap | ${change(theirs.map((m) => m.js_heap))} |`);
  } catch (e) {
    // Chromium has closed TF.js's page during this run before; say so instead of losing the table.
    console.log(`| tfjs-cpu | – | failed: ${String(e.message ?? e).split('\n')[0].replaceAll('|', '/')} |`);
  }
}
await server.close();
