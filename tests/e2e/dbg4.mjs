import { serve } from './server.mjs';
import { chromium } from 'playwright-core';
const ROOT='/work/main/';
const server = await serve({ '/fixtures/': ROOT+'tests/fixtures/fashion-mnist', '/': ROOT+'dist' });
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await (await browser.newContext({ viewport: { width: 1280, height: 1600 } })).newPage();
page.on('console', (m) => { if (m.type() !== 'warning' && !m.text().startsWith('convlab ')) console.log('console', m.type(), m.text().slice(0,300)); });
page.on('pageerror', (e) => console.log('pageerror', String(e)));
const STOP = process.argv[2] === 'stop';
await page.goto(`${server.url}?data=fixtures/`);
await page.waitForFunction(() => document.querySelector('#data-status')?.textContent.includes('3,000'));
await page.selectOption('#preset', 'cnn');
await page.fill('#epochs', '1'); await page.fill('#train-limit', '64');
await page.click('#train');
if (STOP) await page.evaluate(() => new Promise((done) => {
  const log = document.getElementById('epoch-log');
  const observer = new MutationObserver(() => {
    if (/2\/2 - /.test(log.textContent)) { observer.disconnect(); document.getElementById('stop').click(); done(true); }
  });
  observer.observe(log, { childList: true, characterData: true, subtree: true });
}));
await page.waitForFunction(() => document.querySelector('#test-result').textContent.includes('Test loss'));
await page.waitForTimeout(1000);
await page.click('#train');
await page.waitForTimeout(3000);
console.log(STOP, await page.evaluate(() => ({ status: document.getElementById('train-status').textContent, rows: document.querySelectorAll('#history tbody tr').length })));
await browser.close(); server.close();
