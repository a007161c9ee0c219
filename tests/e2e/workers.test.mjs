// The CPU backend on several workers: the training worker shares each batch with helper
// workers (one per core), and the run is the same as on one worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inBrowser, servePage, setInput, text, waitForText } from './browser.mjs';

const server = servePage();

/** Each epoch's loss and accuracy as the log prints them (four decimals). */
async function epochFigures(page) {
  const log = await text(page, '#epoch-log');
  return [...log.matchAll(/loss: (\d\.\d{4}) - accuracy: (\d\.\d{4})/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

async function train(page) {
  await page.click('#train');
  await waitForText(page, '#test-result', 'Test loss', 300_000);
  return { epochs: await epochFigures(page), test: await text(page, '#test-result'), backend: await text(page, '#backend') };
}

test('on the CPU, a batch shared among workers trains the same model as one worker', { timeout: 600_000 }, async () => {
  await inBrowser('cpu-workers', { webgpu: false }, async (page) => {
    await page.goto(`${server.url}?data=fixtures/&backend=cpu&workers=1&epochs=2&train_images=320&seed=3`);
    await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
    assert.equal(await page.inputValue('#cpu-workers'), '1');
    const alone = await train(page);
    assert.match(alone.backend, /Backend: CPU \(burn-flex\)/);
    assert.ok(!alone.backend.includes('workers'), alone.backend);

    await page.selectOption('#cpu-workers', '2');
    // The warm-up starts the helper and gets its replica ready.
    await waitForText(page, '#warm-status', 'on 2 workers', 120_000);
    const shared = await train(page);
    assert.match(shared.backend, /Backend: CPU \(burn-flex\), on 2 workers/);
    assert.equal(shared.epochs.length, 2, await text(page, '#epoch-log'));
    for (const [i, [loss, accuracy]] of alone.epochs.entries()) {
      const [sharedLoss, sharedAccuracy] = shared.epochs[i];
      assert.ok(Math.abs(loss - sharedLoss) <= 2e-4, `epoch ${i + 1}: loss ${loss} alone, ${sharedLoss} shared`);
      assert.ok(Math.abs(accuracy - sharedAccuracy) <= 1 / 320 + 1e-4, `epoch ${i + 1}: accuracy ${accuracy} alone, ${sharedAccuracy} shared`);
    }
    assert.ok(alone.epochs[1][0] < alone.epochs[0][0], `the loss fell: ${JSON.stringify(alone.epochs)}`);
    const accuracy = (s) => Number(s.match(/accuracy ([\d.]+)/)?.[1] ?? NaN);
    assert.ok(Math.abs(accuracy(alone.test) - accuracy(shared.test)) <= 0.0021, `${alone.test} / ${shared.test}`);
    assert.match(await text(page, '#history tbody tr:first-child'), /on 2 workers/);

    // The setting is kept with the others.
    await page.reload();
    await waitForText(page, '#data-status', '3,000 training');
    assert.equal(await page.inputValue('#cpu-workers'), '2');
  });
});

test('a helper worker that is ended mid-run (no error, no answer) costs a wait, not the run: it carries on in one worker with the same figures', { timeout: 600_000 }, async () => {
  await inBrowser('cpu-workers-helper-stopped', { webgpu: false }, async (page) => {
    await page.goto(`${server.url}?data=fixtures/&test-faults&backend=cpu&workers=1&epochs=3&train_images=2048&batch_size=128&seed=5`);
    await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
    const alone = await train(page);

    await page.selectOption('#cpu-workers', '2');
    await waitForText(page, '#warm-status', 'on 2 workers', 120_000);
    await page.click('#train');
    await waitForText(page, '#train-status', 'Epoch 1/3 · batch', 120_000);
    assert.equal(await page.evaluate(() => window.convlabFault('stop_helper')), true);
    await waitForText(page, '#test-result', 'Test loss', 300_000);
    const log = await text(page, '#epoch-log');
    assert.match(log, /The workers on other cores stopped \(helper 0 stopped: no answer within 10 s\); training goes on in one worker/);
    const shared = await epochFigures(page);
    assert.equal(shared.length, 3, log);
    for (const [i, [loss]] of alone.epochs.entries()) {
      assert.ok(Math.abs(loss - shared[i][0]) <= 2e-4, `epoch ${i + 1}: loss ${loss} alone, ${shared[i][0]} after the helper stopped`);
    }

    // The next run starts fresh helpers.
    await page.click('#train');
    await waitForText(page, '#test-result', 'Test loss', 300_000);
    assert.match(await text(page, '#backend'), /on 2 workers/);
    assert.doesNotMatch(await text(page, '#epoch-log'), /stopped \(helper/);
  });
});
