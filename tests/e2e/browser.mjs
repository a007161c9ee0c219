// Helpers shared by the end-to-end tests: a fresh headless Chromium per test (Debian's), with
// screenshots on failure, and waits on the page's text.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { serve } from './server.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIST = process.env.CONVLAB_DIST ?? join(ROOT, 'dist');
const SCREENSHOTS = join(ROOT, 'tests/e2e/screenshots');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** The built page (dist/, or $CONVLAB_DIST) with the committed fixture data at /fixtures/,
 * served on 127.0.0.1 from before the file's first test to after its last. Its `url` is set
 * once the server runs. */
export function servePage() {
  const served = {};
  before(async () => Object.assign(served, await serve({ '/fixtures/': join(ROOT, 'tests/fixtures/fashion-mnist'), '/': DIST })));
  after(async () => served.close?.());
  return served;
}

/** Runs `body(page)` in a fresh browser (with or without WebGPU; `env`: the browser's
 * environment, by default this process's); screenshots on failure. */
export async function inBrowser(name, { webgpu = false, env, context: contextOptions = {} }, body) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    ...(env ? { env } : {}),
    args: [
      '--no-sandbox',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...(webgpu ? ['--enable-unsafe-webgpu'] : []),
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 1600 }, ...contextOptions });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  try {
    await body(page, errors, context);
    assert.deepEqual(errors, [], 'the page logged no errors');
  } catch (e) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const file = join(SCREENSHOTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    e.message += `\n(screenshot: ${file}; page errors: ${JSON.stringify(errors)})`;
    throw e;
  } finally {
    await browser.close();
  }
}

export const text = (page, selector) => page.locator(selector).textContent();

export async function waitForText(page, selector, needle, timeout = 60_000) {
  await page.waitForFunction(
    ([s, n]) => document.querySelector(s)?.textContent.includes(n),
    [selector, needle],
    { timeout },
  ).catch(async (e) => {
    throw new Error(`${selector} never said "${needle}"; it says "${await text(page, selector)}" (${e.message})`);
  });
}

export async function setInput(page, selector, value) {
  await page.fill(selector, String(value));
}


/** One short run of `preset` on the first `images` training images; waits for the test result. */
export async function trainBriefly(page, preset, images, timeout = 120_000) {
  await page.selectOption('#preset', preset);
  await setInput(page, '#epochs', 1);
  await setInput(page, '#train-limit', images);
  await page.click('#train');
  await waitForText(page, '#test-result', 'Test loss', timeout);
}
