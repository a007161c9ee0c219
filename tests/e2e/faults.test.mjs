// When the browser misbehaves: the worker's GPU device is lost mid-run, the worker panics.
// The page's `test-faults` URL key exposes `convlabFault(...)`, which asks the worker to
// destroy() its GPU device or to panic (issue 15); everything else is the real page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inBrowser, servePage, setInput, text, waitForText } from './browser.mjs';

const server = servePage();

async function open(page, query = '') {
  await page.goto(`${server.url}?data=fixtures/&test-faults${query}`);
  await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
}

/** Sets a short run of `epochs` on `images` images of the small CNN, batch 32. */
async function shortRun(page, epochs, images) {
  await page.selectOption('#preset', 'cnn-16');
  await setInput(page, '#epochs', epochs);
  await setInput(page, '#batch-size', 32);
  await setInput(page, '#train-limit', images);
  await page.uncheck('#stop-at-loss-on');
}

test('WebGPU: a GPU lost mid-epoch costs nothing: the run finishes on the CPU from its last checkpoint', { timeout: 600_000 }, async () => {
  await inBrowser('faults-gpu-lost', { webgpu: true }, async (page) => {
    // WebGPU forced: on SwiftShader the automatic choice is the CPU.
    await open(page, '&backend=webgpu');
    await shortRun(page, 3, 320);
    await page.click('#train');
    await waitForText(page, '#backend', 'WebGPU', 120_000);
    // After the first epoch's checkpoint, during the second epoch.
    await waitForText(page, '#train-status', 'Epoch 2/3', 300_000);
    assert.equal(await page.evaluate(() => window.convlabFault('lose_gpu')), true);
    await waitForText(page, '#test-result', 'Test loss', 300_000);
    assert.match(await text(page, '#backend'), /CPU \(burn-flex\) \(the GPU was reset: destroyed/);
    const row = await text(page, '#history tbody tr:first-child');
    assert.match(row, /WebGPU[^]*then CPU/);
    assert.match(row, /the GPU was reset \(destroyed[^)]*\) during epoch 2, batch \d+; continued on the CPU from the end of epoch 1/);
    const epochs = await text(page, '#history tbody tr:first-child td.epochs');
    assert.equal(epochs.trim(), '3', 'all three epochs ran, before and after the loss');
    assert.match(await text(page, '#epoch-log'), /Epoch 1\/3[^]*Resumed after epoch 1[^]*Epoch 3\/3/);
    // The next run trains on the CPU.
    await page.click('#train');
    await waitForText(page, '#test-result', 'Test loss', 300_000);
    assert.match(await text(page, '#history tbody tr:first-child'), /^[^]*CPU \(burn-flex\) \(the GPU was reset/);
    assert.doesNotMatch(await text(page, '#history tbody tr:first-child'), /WebGPU/);
  });
});

test('a worker that panics is replaced: data from the cache, the model, settings and runs kept, a run resumed', { timeout: 600_000 }, async () => {
  await inBrowser('faults-panic', { webgpu: false }, async (page, errors) => {
    await open(page);
    await shortRun(page, 3, 640);
    // Idle: the fresh worker reloads the dataset and the page works as before.
    assert.equal(await page.evaluate(() => window.convlabFault('panic')), true);
    await waitForText(page, '#settings-error', 'panicked');
    await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
    assert.equal(await page.inputValue('#epochs'), '3', 'settings kept');
    assert.equal(await page.inputValue('#preset'), 'cnn-16', 'model kept');

    // Mid-run: the run carries on from its last checkpoint in a fresh worker. (By keyboard:
    // the crash notice above the button goes when a run starts, and a mouse click's target
    // would move under the pointer.)
    await page.focus('#train');
    await page.keyboard.press('Enter');
    await waitForText(page, '#train-status', 'Epoch 2/3', 300_000);
    await page.evaluate(() => window.convlabFault('panic'));
    await waitForText(page, '#test-result', 'Test loss', 300_000);
    const row = await text(page, '#history tbody tr:first-child');
    // The panic lands between two batches of epoch 2 or, on a busy machine, a later epoch (an
    // epoch here lasts about a second): the run goes on from the end of the epoch before it.
    const [, during, from] = row.match(/the training worker panicked[^]*during epoch (\d+), batch \d+; continued from the end of epoch (\d+)/) ?? [];
    assert.ok(Number(during) >= 2 && Number(from) === Number(during) - 1, row);
    assert.equal(await page.locator('#history tbody tr').count(), 1);
    assert.ok(await page.isEnabled('#train'), 'Train is enabled again');
    assert.ok(await page.isEnabled('#model-save-file'), 'the resumed run left a model');

    // A normal run afterwards.
    await page.focus('#train');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('#history tbody tr').length === 2, null, { timeout: 300_000 });
    // The panics are the only errors the console saw.
    const others = errors.filter((e) => !/panicked|fault test|unreachable|RuntimeError/.test(e));
    assert.deepEqual(others, []);
    errors.length = 0;
  });
});
