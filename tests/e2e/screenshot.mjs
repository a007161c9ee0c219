// Renders the README's screenshots of the page: the lab CNN trained for a few epochs on the
// committed fixture images (CPU fallback), with charts, feature maps and the run history; then
// "Your own image" with the committed photo of an ankle boot, and "What the model gets wrong"
// with its largest mistake open and its first image inspected; "Watch the filters learn" at the
// last epoch; and, after a second run (the dense baseline), both runs compared.
// Usage: node screenshot.mjs [page.png] [your-image.png] [mistakes.png] [filters.png] [compare.png]
// (after `trunk build --release`)
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from './server.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const out = process.argv[2] ?? join(ROOT, 'docs/page.png');
const pictureOut = process.argv[3] ?? join(ROOT, 'docs/your-image.png');
const mistakesOut = process.argv[4] ?? join(ROOT, 'docs/mistakes.png');
const filtersOut = process.argv[5] ?? join(ROOT, 'docs/filters.png');
const compareOut = process.argv[6] ?? join(ROOT, 'docs/compare.png');
const server = await serve({ '/fixtures/': join(ROOT, 'tests/fixtures/fashion-mnist'), '/': join(ROOT, 'dist') });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${server.url}?data=fixtures/`);
  await page.waitForFunction(() => document.querySelector('#data-status').textContent.includes('ready'));
  await page.fill('#epochs', '6');
  await page.fill('#train-limit', '3000');
  await page.fill('#validation-split', '0.2');
  await page.click('#train');
  await page.waitForFunction(() => document.querySelector('#fm-status').textContent.includes('Activations of the trained model'), null, { timeout: 600_000 });
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);

  await page.setInputFiles('#picture-file', join(ROOT, 'tests/fixtures/pictures/ankle-boot-photo.png'));
  await page.waitForFunction(() => document.querySelector('#picture-probabilities').textContent.includes('trained model'));
  await page.locator('#picture-panel').screenshot({ path: pictureOut });
  console.log(`wrote ${pictureOut}`);

  const largest = await page.$$eval('#confusion td.off button', (bs) => {
    const most = bs.sort((a, b) => Number(b.textContent) - Number(a.textContent))[0];
    return `#confusion button[data-truth="${most.dataset.truth}"][data-predicted="${most.dataset.predicted}"]`;
  });
  await page.click(largest);
  await page.waitForFunction(() => document.querySelector('#mistakes-grid button canvas'));
  await page.click('#mistakes-grid button');
  await page.waitForFunction(() => document.querySelector('#mistakes-maps canvas'));
  await page.locator('#mistakes-view').screenshot({ path: mistakesOut });
  console.log(`wrote ${mistakesOut}`);

  await page.locator('#filters-view').screenshot({ path: filtersOut });
  console.log(`wrote ${filtersOut}`);

  await page.selectOption('#preset', 'dnn');
  await page.click('#train');
  await page.waitForFunction(() => document.querySelectorAll('#history tbody tr').length === 2, null, { timeout: 600_000 });
  for (const box of await page.locator('#history tbody input[type=checkbox]').all()) await box.check();
  await page.locator('#history-panel').screenshot({ path: compareOut });
  console.log(`wrote ${compareOut}`);
} finally {
  await browser.close();
  await server.close();
}
