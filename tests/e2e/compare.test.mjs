// Comparing runs as pictures, on the CPU fallback: two runs ticked in the history (from the
// keyboard too) lay their curves over each other, every run is a point on the accuracy/time
// scatter, the charts say their figures in words, and the history downloads as CSV.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inBrowser, servePage, setInput, waitForText } from './browser.mjs';

const server = servePage();

async function train(page, preset, epochs) {
  await page.selectOption('#preset', preset);
  await setInput(page, '#epochs', epochs);
  await setInput(page, '#train-limit', 512);
  await page.click('#train');
  await waitForText(page, '#test-result', 'Test loss', 300_000);
}

const pixels = (page, selector) => page.$eval(selector, (c) => c.toDataURL());

test('two runs overlaid, every run on the scatter, and the history as CSV', { timeout: 600_000 }, async () => {
  await inBrowser('compare', { webgpu: false }, async (page) => {
    await page.goto(`${server.url}?data=fixtures/`);
    await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
    await train(page, 'dnn', 3);
    await train(page, 'cnn-16', 2);
    assert.equal(await page.locator('#history tbody tr').count(), 2);

    const blank = await pixels(page, '#compare-loss');
    // The newest run is the first row; tick it with the mouse, the other from the keyboard.
    await page.check('#history tbody tr:nth-child(1) input[type=checkbox]');
    await page.focus('#history tbody tr:nth-child(2) input[type=checkbox]');
    await page.keyboard.press('Space');
    assert.equal(await page.isChecked('#history tbody tr:nth-child(2) input[type=checkbox]'), true);
    assert.equal(
      await page.evaluate(() => document.activeElement?.dataset.run),
      '0',
      'the ticked box keeps the focus',
    );
    await page.waitForFunction(() => document.querySelector('#compare-loss').getAttribute('aria-label').includes('#2'));
    const said = await page.getAttribute('#compare-loss', 'aria-label');
    assert.match(said, /#1 F-D128-D10: [\d.]+, [\d.]+, [\d.]+;/, said);
    assert.match(said, /#2 C16-P2-C16-P2-F-D128-D10: [\d.]+, [\d.]+$/, said);
    assert.notEqual(await pixels(page, '#compare-loss'), blank, 'the curves are drawn');
    const scatter = await page.getAttribute('#runs-scatter', 'aria-label');
    assert.match(scatter, /#1 F-D128-D10: [\d.]+% at [\d.]+ s per epoch; #2 C16/, scatter);

    // Unticked, the run leaves the chart.
    await page.uncheck('#history tbody tr:nth-child(1) input[type=checkbox]');
    await page.waitForFunction(() => !document.querySelector('#compare-loss').getAttribute('aria-label').includes('#2'));

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#history-export')]);
    assert.equal(download.suggestedFilename(), 'convlab-runs.csv');
    const csv = readFileSync(await download.path(), 'utf8').trim().split('\r\n');
    assert.equal(csv.length, 3);
    assert.match(csv[0], /^run,when,architecture,params,epochs_run/);
    assert.match(csv[1], /^1,[^,]+,F-D128-D10,101770,3,3,512,/);
    assert.match(csv[2], /^2,[^,]+,C16-P2-C16-P2-F-D128-D10,[\d]+,2,2,512,/);
    await waitForText(page, '#history-status', 'Downloaded convlab-runs.csv');
  });
});
