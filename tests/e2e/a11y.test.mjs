// Accessibility, on the CPU fallback: axe-core's audit of the whole page before the data has
// loaded, idle, while training and once trained (with the mistakes view, a picture and the
// filters on show), with no serious or critical violation; and a keyboard-only pass from the
// page's top through training to the test result and a confusion-matrix cell.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { inBrowser, servePage, waitForText } from './browser.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const PHOTO = join(ROOT, 'tests/fixtures/pictures/ankle-boot-photo.png');

const server = servePage();

/** axe-core's serious and critical violations on the page as it is, one line each. */
async function audit(page, state) {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help}; ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
  assert.deepEqual(violations, [], `axe-core, ${state}`);
}

test('axe-core finds no serious or critical violation before data, idle, training and trained', { timeout: 600_000 }, async () => {
  await inBrowser('a11y-audit', { webgpu: false }, async (page) => {
    // Before the data: a dataset folder that is not there leaves the page waiting with a retry.
    await page.goto(`${server.url}?data=missing/`);
    await page.waitForFunction(() => document.querySelector('#data-status').textContent.length > 0);
    await audit(page, 'before data');

    await page.goto(`${server.url}?data=fixtures/`);
    await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
    await audit(page, 'idle');

    await page.fill('#epochs', '2');
    await page.fill('#train-limit', '1024');
    await page.click('#train');
    await waitForText(page, '#train-status', 'batch', 120_000);
    await audit(page, 'training');

    await waitForText(page, '#test-result', 'Test loss', 300_000);
    await page.click('#confusion td.off button');
    await page.waitForFunction(() => document.querySelector('#mistakes-grid button canvas'));
    await page.click('#mistakes-grid button');
    await page.waitForFunction(() => document.querySelector('#mistakes-maps canvas'));
    await page.setInputFiles('#picture-file', PHOTO);
    await waitForText(page, '#picture-probabilities', 'trained model');
    await audit(page, 'trained');
  });
});

test('keyboard only: from the top of the page to a trained model and its mistakes', { timeout: 600_000 }, async () => {
  await inBrowser('a11y-keyboard', { webgpu: false }, async (page) => {
    await page.goto(`${server.url}?data=fixtures/&epochs=1&train_images=512`);
    await waitForText(page, '#data-status', '3,000 training and 1,000 test images');
    /** Tabs forward until `selector` has the focus; every stop on the way shows a focus ring. */
    const tabTo = async (selector) => {
      for (let presses = 0; presses < 300; presses++) {
        await page.keyboard.press('Tab');
        const at = await page.evaluate((s) => {
          const el = document.activeElement;
          const style = getComputedStyle(el);
          const ring = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
          return { here: el.matches(s), ring, what: el.outerHTML.slice(0, 80) };
        }, selector);
        assert.ok(at.ring, `no visible focus on ${at.what}`);
        if (at.here) return presses + 1;
      }
      throw new Error(`Tab never reached ${selector}`);
    };
    await tabTo('#train');
    await page.keyboard.press('Enter');
    await waitForText(page, '#test-result', 'Test loss', 300_000);
    // The result's live region says it; the matrix's numbers are next in the tab order.
    await tabTo('#confusion button');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#mistakes-heading').textContent.includes('test images'));
    await tabTo('#mistakes-grid button');
    await page.keyboard.press('Enter');
    await waitForText(page, '#mistakes-detail', 'Class probabilities');
  });
});
