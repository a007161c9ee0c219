// Renders the README's screenshot of the page: the lab CNN trained for a few epochs on the
// committed fixture images (CPU fallback), with charts, feature maps and the run history.
// Usage: node screenshot.mjs [out.png]   (after `trunk build --release`)
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from './server.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const out = process.argv[2] ?? join(ROOT, 'docs/page.png');
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
} finally {
  await browser.close();
  await server.close();
}
