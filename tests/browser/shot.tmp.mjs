import { chromium } from 'playwright-core';
const base = 'http://127.0.0.1:18080';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
for (const width of [1440, 390]) {
  const page = await browser.newPage({ viewport: { width, height: 900 }, locale: 'ko-KR' });
  await page.goto(base + '/login');
  await page.fill('input[name=email]', 'admin@demo.adpool.kr');
  await page.fill('input[name=password]', 'adpool-demo-2026');
  await page.click('button[type=submit]');
  await page.waitForLoadState('networkidle');
  await page.goto(base + '/shops');
  await page.screenshot({ path: `/tmp/shots/shops-${width}.png`, fullPage: true });
  const links = await page.$$eval('a[href^="/shops/stores/"]', as => as.map(a => a.getAttribute('href')));
  for (const [i, href] of links.entries()) {
    await page.goto(base + href);
    await page.screenshot({ path: `/tmp/shots/store${i}-${width}.png`, fullPage: true });
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    console.log(width, href, 'doc width', w);
  }
  await page.close();
}
await browser.close();
