// convlab vs TensorFlow.js and jax-js in the same headless Chromium, same run: the lab CNN, Adam, the same
// real Fashion-MNIST images (the committed fixture: first 3,000 train / 1,000 test), the same
// batch size and number of samples. Prints a Markdown table for BENCHMARKS.md.
//   node bench.mjs [--batch 32,128] [--samples 320] [--epochs 3] [--runs 1] [--memory-epochs 20]
// --memory-epochs N adds a long run (N epochs, batch 32) of convlab's CPU fallback and TF.js's
// cpu backend, reporting memory at epochs 2 and N.
// --warm-wait S (default 10): how long the model is on screen before the warm-start click.
// --count instead measures what one steady training step asks of WebGPU (dispatches, submits,
// bytes written, buffers and pipelines created, read-backs), for convlab, TF.js and jax-js on
// WebGPU in the same browser, through gpu-count.js; timings are not taken in that mode.
// --choice instead records the automatic backend choice: for the lab CNN and the dense
// baseline at each batch size, the samples/s the page timed on WebGPU and on the CPU, which it
// chose and how long the timing took (a fresh page each, the model on screen until it is done).
// --workers 1,2 instead measures the CPU backend on each number of workers (the training
// worker and its helpers sharing each batch): steady samples/s of the lab CNN and test accuracy,
// a fresh page each, the counts alternated over --runs rounds; then, as the machine's ceiling,
// as many separate browsers as the largest count, each training on one worker at once.
// Needs `trunk build --release` (dist/) and `npm ci` here. See scripts/bench-browser.sh.
import { readFileSync } from 'node:fs';
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
const COUNT = process.argv.includes('--count');
const CHOICE = process.argv.includes('--choice');
const WORKERS = arg('workers', '');
// How long the model is on screen before Train in the warm-start measurement (seconds).
const WARM_WAIT = Number(arg('warm-wait', '10'));
// Left out unless --only names them: jax-js's WebGL backend trains at ~3 samples/s on
// SwiftShader, so one run of the default settings takes over 10 minutes.
const SLOW = ['jaxjs-webgl'];

const GPU_COUNT = readFileSync(join(ROOT, 'bench/browser/gpu-count.js'), 'utf8');
const server = await serve({
  '/fixtures/': join(ROOT, 'tests/fixtures/fashion-mnist'),
  // In --count mode the worker runs gpu-count.js before anything else.
  '/worker.js': (_req, res) => {
    const worker = readFileSync(join(ROOT, 'dist/worker.js'), 'utf8');
    res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' });
    res.end(COUNT ? `${GPU_COUNT}\n${worker}` : worker);
  },
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
    await page.selectOption('#backend-choice', webgpu ? 'webgpu' : 'cpu');
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
    // Click to first step for a model that has been on screen for WARM_WAIT s (the worker warms
    // up its first step meanwhile): a fresh page again, the data from the cache, Train later.
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#data-status').textContent.includes('ready'), null, { timeout: 120_000 });
    await page.waitForTimeout(WARM_WAIT * 1000);
    const warmStatus = await page.locator('#warm-status').textContent().catch(() => '');
    const clicked = await page.evaluate(() => performance.now());
    await page.click('#train');
    await page.waitForFunction(() => {
      const moved = document.querySelector('#train-progress').value > 0;
      if (moved) window.warmFirst ??= performance.now();
      return moved;
    }, null, { timeout: 600_000, polling: 10 });
    const warm = { clickToFirstStep: (await page.evaluate(() => window.warmFirst)) - clicked, status: warmStatus };
    return { name: `convlab ${webgpu ? 'WebGPU' : 'CPU fallback'}`, backend, sps, firstStep, cold, warm, accuracy: Number(test), checkpoint, snapshot };
  } finally {
    await b.close();
  }
}

const LIBRARIES = { tfjs: 'TF.js', jaxjs: 'jax-js' };

/** TF.js or jax-js (`lib`: tfjs or jaxjs, each a page here) on `backend`; with --count, their
 * WebGPU calls counted per step (the page marks each step's end). */
async function library(lib, backend, batch) {
  const name = `${LIBRARIES[lib]} ${backend}`;
  const b = await browser(backend === 'webgpu');
  try {
    const page = await b.newPage();
    if (COUNT) await page.addInitScript({ content: GPU_COUNT });
    const t0 = Date.now();
    await page.goto(`${server.url}bench/${lib}.html?backend=${backend}&batch=${batch}&samples=${SAMPLES}&epochs=${EPOCHS}&data=/fixtures/`);
    await page.waitForFunction(() => window.result !== undefined, null, { timeout: 1_800_000, polling: 200 });
    const r = await page.evaluate(() => window.result);
    if (r.error) return { name, backend, error: r.error };
    const marks = COUNT ? await page.evaluate(() => globalThis.gpuCountMarks) : undefined;
    return { name, backend, sps: r.samples_per_second, firstStep: r.first_step_ms, accuracy: r.test_accuracy, t0, cost: marks && stepCost(marks) };
  } finally {
    await b.close();
  }
}

/** convlab on WebGPU with every WebGPU call counted (gpu-count.js runs first in its worker). */
async function convlabCount(batch) {
  const b = await browser(true);
  try {
    const page = await (await b.newContext()).newPage();
    let marks;
    page.on('console', (m) => {
      const x = m.text().match(/^convlab gpu-count: (.*)$/s);
      if (x) marks = JSON.parse(x[1]);
    });
    await page.goto(`${server.url}?data=/fixtures/`);
    await page.waitForFunction(() => document.querySelector('#data-status').textContent.includes('ready'), null, { timeout: 120_000 });
    await page.fill('#epochs', String(EPOCHS));
    await page.fill('#batch-size', String(batch));
    await page.fill('#train-limit', String(SAMPLES));
    await page.selectOption('#preset', 'cnn');
    await page.selectOption('#backend-choice', 'webgpu');
    await page.click('#train');
    await page.waitForFunction(() => document.querySelector('#test-result').textContent.includes('Test loss'), null, { timeout: 1_800_000 });
    const deadline = Date.now() + 10_000;
    while (!marks && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (!marks) return { name: 'convlab WebGPU', error: 'the worker logged no gpu-count marks' };
    const backend = (await page.locator('#backend').textContent()).replace('Backend: ', '');
    const test = (await page.locator('#test-result').textContent()).match(/test accuracy ([\d.]+)/)[1];
    return { name: 'convlab WebGPU', backend, accuracy: Number(test), cost: stepCost(marks) };
  } finally {
    await b.close();
  }
}

/** From gpu-count marks (running totals at each step or report, and at epoch ends): the median
 * cost of one step after the first epoch, one whole steady epoch (the last), and the first
 * epoch (where pipelines are compiled). */
function stepCost(marks) {
  const keys = Object.keys(marks[0]).filter((k) => k !== 'label');
  const diff = (a, b, n = 1) => Object.fromEntries(keys.map((k) => [k, (b[k] - a[k]) / n]));
  const steps = [];
  for (let i = 1; i < marks.length; i++) {
    const [a, b] = [marks[i - 1].label, marks[i].label];
    if (a.batch === undefined || b.batch === undefined || a.epoch !== b.epoch || a.epoch < 2) continue;
    steps.push(diff(marks[i - 1], marks[i], b.batch - a.batch));
  }
  const ends = marks.filter((m) => m.label.epochEnd !== undefined);
  const zero = Object.fromEntries(keys.map((k) => [k, 0]));
  return {
    steps: steps.length,
    step: steps.length ? Object.fromEntries(keys.map((k) => [k, median(steps.map((s) => s[k]))])) : undefined,
    epoch: ends.length >= 2 ? diff(ends[ends.length - 2], ends[ends.length - 1]) : undefined,
    first: ends.length ? diff(zero, ends[0]) : undefined,
  };
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
    await page.selectOption('#backend-choice', 'cpu');
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

/** The automatic choice for `preset` at `batch`, as the page's warm-up timed and shows it. */
async function convlabChoice(preset, batch) {
  const b = await browser(true);
  try {
    const page = await (await b.newContext()).newPage();
    await page.goto(`${server.url}?data=/fixtures/&preset=${preset}&batch_size=${batch}`);
    await page.waitForFunction(() => document.querySelector('#warm-status').textContent.startsWith('Ready to train on'), null, { timeout: 900_000 });
    const status = await page.locator('#warm-status').textContent();
    const figures = status.match(/WebGPU ([\d.,]+) samples\/s, CPU ([\d.,]+) samples\/s/);
    const number = (text) => Number(text.replace(/,/g, ''));
    return {
      preset, batch,
      webgpu: figures && number(figures[1]),
      cpu: figures && number(figures[2]),
      chosen: status.match(/^Ready to train on (\S+)/)[1],
      seconds: Number(status.match(/Timed in ([\d.]+) s/)?.[1]),
      status,
    };
  } finally {
    await b.close();
  }
}

/** A page with the lab CNN on the CPU backend on `workers` workers at `batch`, its model
 * warmed up and ready to train. */
async function workersPage(workers, batch) {
  const b = await browser(false);
  const page = await (await b.newContext()).newPage();
  await page.goto(`${server.url}?data=/fixtures/&preset=cnn&backend=cpu&workers=${workers}`
    + `&batch_size=${batch}&epochs=${EPOCHS}&train_images=${SAMPLES}`);
  await page.waitForFunction(() => document.querySelector('#warm-status').textContent.startsWith('Ready to train on'), null, { timeout: 300_000 });
  return { b, page };
}

/** Trains on a ready page: steady samples/s (the epochs after the first), test accuracy, and
 * on several workers how the last epoch's batches were shared (the worker's console line). */
async function trainWorkersPage(page) {
  let shared = null;
  page.on('console', (m) => {
    const x = m.text().match(/^convlab shares: epoch \d+, \d+ steps, last split \[([\d, ]+)\], own share ([\d.]+) ms, waited ([\d.]+) ms a step/);
    if (x) shared = { split: x[1].replace(/ /g, ''), own_ms: Number(x[2]), waited_ms: Number(x[3]) };
  });
  await page.click('#train');
  await page.waitForFunction(() => document.querySelector('#test-result').textContent.includes('Test loss'), null, { timeout: 1_800_000 });
  const seconds = (await page.getAttribute('#epoch-log', 'data-seconds')).split(',').map(Number);
  const steady = seconds.slice(1);
  return {
    sps: (steady.length * SAMPLES) / steady.reduce((a, c) => a + c, 0),
    accuracy: Number((await page.locator('#test-result').textContent()).match(/test accuracy ([\d.]+)/)[1]),
    backend: (await page.locator('#backend').textContent()).replace('Backend: ', ''),
    shared,
  };
}

/** One run on `workers` workers at `batch`. */
async function convlabWorkers(workers, batch) {
  const { b, page } = await workersPage(workers, batch);
  try {
    return { workers, batch, ...(await trainWorkersPage(page)) };
  } finally {
    await b.close();
  }
}

/** What this machine and browser allow: `pages` separate browsers, each training on one
 * worker at the same time, their samples/s summed (no messages, no shared step). */
async function independentPages(pages, batch) {
  const opened = await Promise.all(Array.from({ length: pages }, () => workersPage(1, batch)));
  try {
    const runs = await Promise.all(opened.map(({ page }) => trainWorkersPage(page)));
    return { pages, batch, sps: runs.reduce((a, r) => a + r.sps, 0), each: runs.map((r) => Math.round(r.sps)) };
  } finally {
    await Promise.all(opened.map(({ b }) => b.close()));
  }
}

if (WORKERS) {
  const counts = WORKERS.split(',').map(Number);
  console.log(`machine: ${cpus().length} cores, ${cpus()[0].model}; load average before: ${loadavg()[0].toFixed(2)}`);
  console.log(`lab CNN on the CPU backend, ${SAMPLES} images, ${EPOCHS} epochs (samples/s of epochs 2-${EPOCHS}), ${RUNS} round(s), counts alternated\n`);
  const most = Math.max(...counts);
  const results = [];
  const ceilings = [];
  for (let run = 0; run < RUNS; run++) {
    for (const batch of BATCHES) {
      const order = run % 2 ? [...counts].reverse() : counts;
      for (const workers of order) {
        const r = await convlabWorkers(workers, batch);
        console.error(JSON.stringify(r));
        results.push(r);
      }
      if (most > 1) {
        const c = await independentPages(most, batch);
        console.error(JSON.stringify(c));
        ceilings.push(c);
      }
    }
  }
  // Ratios within a round only (this machine's speed drifts between rounds).
  console.log('| batch | workers | samples/s (median of rounds) | vs 1 worker, each round | test accuracy | last epoch: split, own share, wait a step (each round) |');
  console.log('|---|---|---|---|---|---|');
  for (const batch of BATCHES) {
    const of = (workers) => results.filter((r) => r.batch === batch && r.workers === workers);
    const ones = of(1).map((r) => r.sps);
    const perRound = (figures) => figures.map((sps, round) => (ones[round] ? `${(sps / ones[round]).toFixed(2)}×` : '–')).join(', ');
    for (const workers of counts) {
      const figures = of(workers).map((r) => r.sps);
      const sharing = of(workers).map((r) => (r.shared ? `${r.shared.split}, ${r.shared.own_ms} ms, ${r.shared.waited_ms} ms` : '–')).join('; ');
      console.log(`| ${batch} | ${workers} | ${median(figures).toFixed(0)} (${figures.map((f) => f.toFixed(0)).join(', ')}) | ${perRound(figures)} | ${of(workers).map((r) => r.accuracy.toFixed(4)).join(', ')} | ${sharing} |`);
    }
    const ceiling = ceilings.filter((c) => c.batch === batch);
    if (ceiling.length) {
      const figures = ceiling.map((c) => c.sps);
      const each = ceiling.map((c) => c.each.join(' + ')).join('; ');
      console.log(`| ${batch} | ${most} separate pages, 1 worker each (the machine's ceiling: ${each}) | ${median(figures).toFixed(0)} (${figures.map((f) => f.toFixed(0)).join(', ')}) | ${perRound(figures)} | – | – |`);
    }
  }
  await server.close();
  process.exit(0);
}

if (CHOICE) {
  console.log(`machine: ${cpus().length} cores, ${cpus()[0].model}; Chromium with --enable-unsafe-webgpu (SwiftShader)\n`);
  console.log('| model | batch | WebGPU timed (samples/s) | CPU timed (samples/s) | CPU / WebGPU | chosen | timing took (s) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const batch of BATCHES) {
    for (const preset of ['cnn', 'dnn']) {
      const r = await convlabChoice(preset, batch);
      console.error(JSON.stringify(r));
      const ratio = r.cpu && r.webgpu ? (r.cpu / r.webgpu).toFixed(1) : '–';
      console.log(`| ${preset} | ${batch} | ${r.webgpu ?? '–'} | ${r.cpu ?? '–'} | ${ratio} | ${r.chosen} | ${r.seconds} |`);
    }
  }
  await server.close();
  process.exit(0);
}

const rows = [];
for (const batch of BATCHES) {
  const candidates = [
    ['convlab-webgpu', () => convlab(true, batch)],
    ['convlab-cpu', () => convlab(false, batch)],
    ['tfjs-cpu', () => library('tfjs', 'cpu', batch)],
    ['tfjs-wasm', () => library('tfjs', 'wasm', batch)],
    ['tfjs-webgl', () => library('tfjs', 'webgl', batch)],
    ['tfjs-webgpu', () => library('tfjs', 'webgpu', batch)],
    ['jaxjs-wasm', () => library('jaxjs', 'wasm', batch)],
    ['jaxjs-webgl', () => library('jaxjs', 'webgl', batch)],
    ['jaxjs-webgpu', () => library('jaxjs', 'webgpu', batch)],
  ].filter(([name]) => (ONLY ? ONLY.split(',').includes(name) : !SLOW.includes(name)));
  if (COUNT) {
    for (const [name, run] of [
      ['convlab-webgpu', () => convlabCount(batch)],
      ['tfjs-webgpu', () => library('tfjs', 'webgpu', batch)],
      ['jaxjs-webgpu', () => library('jaxjs', 'webgpu', batch)],
    ].filter(([name]) => !ONLY || ONLY.split(',').includes(name))) {
      const r = await run();
      console.error(`${name} batch ${batch} (counted): ${JSON.stringify(r)}`);
      rows.push({ batch, ...r });
    }
    continue;
  }
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
          cold: ok[0].cold && Object.fromEntries(Object.keys(ok[0].cold).map((k) => [k, median(ok.map((r) => r.cold[k]))])),
          warm: ok[0].warm && { clickToFirstStep: median(ok.map((r) => r.warm.clickToFirstStep)), status: ok[0].warm.status } }
      : { batch, name, error: results[0].error });
  }
}

if (COUNT) {
  printCosts(rows);
  await server.close();
  process.exit(0);
}

console.log(`machine: ${cpus().length} cores, ${cpus()[0].model}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`settings: lab CNN, ${SAMPLES} fixture images x ${EPOCHS} epochs, test on 1,000; median of ${RUNS} run(s)\n`);
console.log('| batch | trainer | backend | samples/s (steady) | first step from page load (ms) | test accuracy | vs fastest TF.js | vs fastest jax-js |');
console.log('|---|---|---|---|---|---|---|---|');
for (const batch of BATCHES) {
  const here = rows.filter((r) => r.batch === batch);
  const fastest = (lib) => Math.max(0, ...here.filter((r) => r.name.startsWith(lib) && !r.error).map((r) => r.sps));
  const [tfjsBest, jaxBest] = [fastest('tfjs'), fastest('jaxjs')];
  const ratio = (sps, best) => (best ? `${(sps / best).toFixed(2)}x` : '–');
  for (const r of here) {
    if (r.error) {
      console.log(`| ${batch} | ${r.name} | – | cannot train: ${r.error.slice(0, 120).replaceAll('|', '/')} | – | – | – | – |`);
    } else {
      console.log(`| ${batch} | ${r.name} | ${r.backend} | ${r.sps.toFixed(1)} | ${Math.round(r.firstStep)} | ${r.accuracy.toFixed(4)} | ${ratio(r.sps, tfjsBest)} | ${ratio(r.sps, jaxBest)} |`);
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

const warmed = rows.filter((r) => r.warm);
if (warmed.length) {
  console.log(`\nconvlab's click to first step for a model on screen for ${WARM_WAIT} s (data cached; medians):\n`);
  console.log('| batch | trainer | Train -> first step done (ms) | Train -> first step done, clicked at once (ms, from the cold table) | what the page said before the click |');
  console.log('|---|---|---|---|---|');
  for (const r of warmed) {
    const atOnce = r.cold ? r.cold.backend + r.cold.step : NaN;
    console.log(`| ${r.batch} | ${r.name} | ${Math.round(r.warm.clickToFirstStep)} | ${Number.isFinite(atOnce) ? Math.round(atOnce) : '–'} | ${r.warm.status.replaceAll('|', '/')} |`);
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

function printCosts(counted) {
  const f = (v, digits = 1) => (v === undefined ? '–' : Number.isInteger(v) ? String(v) : v.toFixed(digits));
  console.log(`machine: ${cpus().length} cores, ${cpus()[0].model}; Chromium with --enable-unsafe-webgpu`);
  console.log(`settings: lab CNN, ${SAMPLES} fixture images x ${EPOCHS} epochs; per step: median over the steps after the first epoch\n`);
  console.log('| batch | trainer | dispatches / step | submits / step | bytes written / step | buffers created / step | pipelines created / step | bind groups / step | read-backs / step | read-backs / steady epoch | buffers / steady epoch | pipelines in the first epoch | test accuracy |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of counted) {
    if (r.error || !r.cost?.step) {
      console.log(`| ${r.batch} | ${r.name} | cannot count: ${(r.error ?? 'no steady steps').slice(0, 120).replaceAll('|', '/')} |||||||||||`);
      continue;
    }
    const { step, epoch, first } = r.cost;
    console.log(`| ${r.batch} | ${r.name} | ${f(step.dispatches)} | ${f(step.submits)} | ${f(Math.round(step.bytesWritten))} | ${f(step.buffers)} | ${f(step.pipelines)} | ${f(step.bindGroups)} | ${f(step.readBacks)} | ${f(epoch?.readBacks)} | ${f(epoch?.buffers)} | ${f(first?.pipelines)} | ${f(r.accuracy, 4)} |`);
  }
}
