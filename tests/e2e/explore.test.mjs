// Exploring a model end to end, on the CPU fallback and on WebGPU. "Your own image": a stroke
// drawn with the mouse, a photo opened with the file button and one dropped on the square (test
// image 0, an ankle boot, photographed brown on a beige table: tests/fixtures/pictures), and
// files that are not pictures. "What the model gets wrong": a confusion-matrix cell opens its
// images, page by page, as many as its number; a pair of classes; an image's probabilities and
// feature maps, opened from the keyboard. "Watch the filters learn": the first conv layer's
// kernels and the watched images' maps differ between epoch 0 and the last epoch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inBrowser, servePage, setInput, text, waitForText } from './browser.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const PHOTO = join(ROOT, 'tests/fixtures/pictures/ankle-boot-photo.png');

const server = servePage();

/** The ten percentages of the probability table under `within`. */
async function percentages(page, within = '#picture-probabilities') {
  const cells = await page.$$eval(`${within} table.probabilities tr td:last-child`, (tds) => tds.map((td) => td.textContent));
  return cells.map((t) => Number(t.replace('%', '')));
}

async function drawStroke(page) {
  // The mouse works in the viewport's coordinates: the square must be on screen first.
  await page.locator('#picture-canvas').scrollIntoViewIfNeeded();
  const box = await page.locator('#picture-canvas').boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.2);
  await page.mouse.down();
  for (let step = 1; step <= 10; step++) {
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * (0.2 + step * 0.06));
  }
  await page.mouse.up();
}

async function classifiedAs(page, verdict, timeout = 60_000) {
  await waitForText(page, '#picture-probabilities', verdict, timeout);
  const shares = await percentages(page);
  assert.equal(shares.length, 10);
  const sum = shares.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 100) < 0.6, `the probabilities add up to ${sum}%`);
}

// SwiftShader's WebGPU runs on the CPU and is slow at the lab's Dense(128) head: the WebGPU run
// trains a small CNN, given in the URL, that still tells the photo's ankle boot apart.
for (const { backend, webgpu, model, layers, filters } of [
  { backend: 'CPU fallback', webgpu: false, model: 'preset=cnn', layers: 4, filters: 32 },
  { backend: 'WebGPU', webgpu: true, model: 'layers=conv:8:3:relu,pool:2,flatten,dense:10:softmax&backend=webgpu', layers: 2, filters: 8 },
]) {
  test(`${backend}: a drawing and a photo are classified and shown through each layer; the kernels learn; a confusion-matrix cell opens its images`, { timeout: 600_000 }, async () => {
    await inBrowser(`picture-${webgpu ? 'gpu' : 'cpu'}`, { webgpu }, async (page) => {
      await page.goto(`${server.url}?data=fixtures/&${model}`);
      await waitForText(page, '#data-status', '3,000 training and 1,000 test images');

      // A stroke: its four steps, an answer from the untrained model, and its feature maps.
      await drawStroke(page);
      await page.waitForFunction(() => document.querySelectorAll('#picture-steps canvas').length === 4);
      await classifiedAs(page, 'the untrained model');
      const input = await page.$eval('#picture-steps figure:last-child figcaption', (c) => c.textContent);
      assert.match(input, /\(28 × 28\)/);
      // Each step fits its box, the stroke's tall, thin crop too.
      const sizes = await page.$$eval('#picture-steps canvas', (cs) => cs.map((c) => [c.clientWidth, c.clientHeight]));
      for (const [w, h] of sizes) assert.ok(Math.max(w, h) <= 112 && Math.min(w, h) >= 1, `a step shown ${w} × ${h}`);
      assert.equal(await page.locator('#picture-maps canvas').count(), layers);

      // Trained, the model answers again for the picture on show.
      await setInput(page, '#epochs', 2);
      await setInput(page, '#train-limit', 3000);
      await page.click('#train');
      await waitForText(page, '#test-result', 'Test loss', 300_000);
      await classifiedAs(page, 'says the trained model');
      await filtersView(page, layers, filters);

      // The photo, opened with the file button: an ankle boot.
      await page.setInputFiles('#picture-file', PHOTO);
      await classifiedAs(page, 'Ankle boot');
      const steps = await page.$$eval('#picture-steps figcaption', (cs) => cs.map((c) => c.textContent));
      assert.deepEqual(steps.map((s) => s.split(' (')[0]), ['greyscale', 'negated, light on black', 'cropped to the item', '28x28, centred']);
      assert.match(steps[0], /\(360 × 240\)/);
      assert.equal(await page.locator('#picture-maps canvas').count(), layers);

      // Not a picture: named, and the previous answer is gone.
      await page.setInputFiles('#picture-file', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not a picture') });
      await waitForText(page, '#picture-status', 'notes.png: the browser cannot read it as a picture');
      assert.equal(await page.locator('#picture-steps canvas').count(), 0);
      assert.equal(await text(page, '#picture-probabilities'), '');

      // The photo dropped on the square.
      const bytes = readFileSync(PHOTO).toString('base64');
      await page.evaluate((b64) => {
        const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([data], 'dropped-boot.png', { type: 'image/png' }));
        document.querySelector('#picture-canvas').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      }, bytes);
      await classifiedAs(page, 'Ankle boot');

      await mistakesView(page, layers);
    });
  });
}

/** The pixels of every canvas under `selector`, as data URLs. */
async function drawn(page, selector) {
  return page.$$eval(selector, (cs) => cs.map((c) => c.toDataURL()));
}

async function showEpoch(page, epoch) {
  await page.$eval('#epoch-slider', (slider, e) => {
    slider.value = String(e);
    slider.dispatchEvent(new Event('input', { bubbles: true }));
  }, epoch);
  await waitForText(page, '#epoch-shown', epoch === 0 ? 'epoch 0' : `after epoch ${epoch}`);
}

async function filtersView(page, layers, filters) {
  assert.equal(await page.getAttribute('#epoch-slider', 'max'), '2');
  assert.equal(await page.locator('#epoch-slider').isDisabled(), false);
  await showEpoch(page, 0);
  const untrained = await drawn(page, '#kernels canvas');
  const untrainedMaps = await drawn(page, '#epoch-maps canvas');
  assert.equal(untrained.length, filters);
  assert.equal(untrainedMaps.length, 3 * layers, 'the three watched images through each layer');
  await showEpoch(page, 2);
  const trained = await drawn(page, '#kernels canvas');
  assert.equal(trained.length, filters);
  const changed = trained.filter((k, i) => k !== untrained[i]).length;
  assert.ok(changed > filters / 2, `${changed} of ${filters} kernels look different after training`);
  assert.notDeepEqual(await drawn(page, '#epoch-maps canvas'), untrainedMaps);
  // The weights are in words too.
  assert.match(await page.getAttribute('#kernels canvas', 'aria-label'), /^conv2d filter 0, input channel 0: weights -?\d/);
}

/** The confusion matrix's numbers as [truth, predicted, count] for its buttons. */
async function cells(page) {
  return page.$$eval('#confusion button', (bs) => bs.map((b) => [Number(b.dataset.truth), Number(b.dataset.predicted), Number(b.textContent)]));
}

/** Opens a cell and counts its thumbnails page by page, every one drawn. */
async function openAndCount(page, [truth, predicted, count]) {
  await page.click(`#confusion button[data-truth="${truth}"][data-predicted="${predicted}"]`);
  await waitForText(page, '#mistakes-heading', `${count} `);
  let seen = 0;
  for (let pages = 0; ; pages++) {
    assert.ok(pages < 100, 'the pager ends');
    const shown = await page.locator('#mistakes-grid button').count();
    assert.ok(shown > 0 && shown <= 40, `${shown} images on a page`);
    await page.waitForFunction((n) => document.querySelectorAll('#mistakes-grid button canvas').length === n, shown);
    seen += shown;
    if (await page.locator('#mistakes-next').isHidden() || await page.locator('#mistakes-next').isDisabled()) break;
    const before = await text(page, '#mistakes-page');
    await page.click('#mistakes-next');
    await page.waitForFunction((b) => document.querySelector('#mistakes-page').textContent !== b, before);
  }
  assert.equal(seen, count, `cell ${truth}/${predicted}: its images number its count`);
}

async function mistakesView(page, layers) {
  const all = await cells(page);
  // The largest mistake, and the largest right answer (more than one page).
  const wrong = all.filter(([t, p]) => t !== p).sort((a, b) => b[2] - a[2])[0];
  const right = all.filter(([t, p]) => t === p).sort((a, b) => b[2] - a[2])[0];
  assert.ok(right[2] > 40, `a diagonal cell of ${right[2]} images spans pages`);
  await openAndCount(page, right);
  await openAndCount(page, wrong);

  // The pairs: each row's total is its two directions.
  const rows = await page.$$eval('#mistakes-pairs tbody tr', (trs) => trs.map((tr) => [
    Number(tr.querySelector('td').textContent),
    ...[...tr.querySelectorAll('button')].map((b) => parseInt(b.textContent, 10)),
  ]));
  assert.ok(rows.length >= 1);
  for (const [total, one, other] of rows) assert.equal(one + other, total);

  // From the keyboard: the first (most confident) image of the mistake, its probabilities
  // (its prediction first) and its maps.
  await page.focus('#mistakes-grid button');
  await page.keyboard.press('Enter');
  await waitForText(page, '#mistakes-detail', 'Class probabilities');
  const heading = await text(page, '#mistakes-detail h4');
  const predicted = heading.split('predicted ')[1];
  assert.match(await text(page, '#mistakes-detail .verdict'), new RegExp(`^${predicted.replace(/[()/]/g, '.')}, `));
  const shares = await percentages(page, '#mistakes-detail');
  assert.ok(Math.abs(shares.reduce((a, b) => a + b, 0) - 100) < 0.6);
  assert.equal(await page.locator('#mistakes-maps canvas').count(), layers);
}
