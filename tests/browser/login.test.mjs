// Real-browser test: headless Debian Chromium, driven by playwright-core.
// Starts `adpool demo` on a free port in a scratch folder, signs in as the demo admin, sees
// the dashboard, visits the jobs page, signs out; corrects inventory; downloads a proposal; a
// shop page on another origin shows CPC ads and a click lands; an admin reviews an advertiser.
// Screenshots go to tests/browser/output/.
//
// ADPOOL_BIN names the binary (default: the cargo target dir's debug build);
// CHROMIUM names the browser (default /usr/bin/chromium).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(here, "..", "..", "target");
const binary = process.env.ADPOOL_BIN ?? path.join(targetDir, "debug", "adpool");
const output = path.join(here, "output");
mkdirSync(output, { recursive: true });

let server;
let baseUrl;
let demoLog = "";
let browser;
let scratch;

before(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), "adpool-browser-"));
  server = spawn(binary, ["demo", "--bind", "127.0.0.1:0"], { cwd: scratch, env: { ...process.env, RUST_LOG: "warn" } });
  let log = "";
  baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`adpool demo did not start:\n${log}`)), 60_000);
    const read = (chunk) => {
      log += chunk;
      demoLog = log;
      const match = log.match(/running at (http:\/\/[0-9.:]+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    server.stdout.on("data", read);
    server.stderr.on("data", read);
    server.on("exit", (code) => reject(new Error(`adpool demo exited with ${code}:\n${log}`)));
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

// Every page is watched for Content-Security-Policy violations: the policy allows only
// adpool's own script and stylesheet, so an inline style or script would break silently.
const cspViolations = [];
function watch(page) {
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
      cspViolations.push(`${page.url()}: ${message.text()}`);
    }
  });
  return page;
}

after(async () => {
  assert.deepEqual(cspViolations, [], "Content-Security-Policy violations");
  await browser?.close();
  server?.kill("SIGTERM");
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test("sign in, see the dashboard, sign out", async () => {
  const context = await browser.newContext({ locale: "ko-KR", viewport: { width: 1280, height: 800 } });
  const page = watch(await context.newPage());
  await page.goto(`${baseUrl}/`);
  assert.match(page.url(), /\/login\?next=%2F$/, "an anonymous visitor is sent to the login page");
  await page.screenshot({ path: path.join(output, "01-login.png"), fullPage: true });

  await page.fill('input[name="email"]', "admin@demo.adpool.kr");
  await page.fill('input[name="password"]', "adpool-demo-2026");
  await page.click('button[type="submit"]');
  await page.waitForSelector('[data-testid="dashboard-title"]');
  assert.equal(new URL(page.url()).pathname, "/");
  assert.match(await page.textContent('[data-testid="dashboard-title"]'), /김관리/);
  assert.ok(await page.isVisible("nav.mainnav >> text=인벤토리"), "the navigation is in Korean");
  await page.screenshot({ path: path.join(output, "02-dashboard.png"), fullPage: true });

  await page.click("nav.mainnav >> text=작업");
  await page.waitForSelector("table.grid");
  assert.ok(await page.isVisible("text=demo.walkthrough"));
  await page.screenshot({ path: path.join(output, "03-jobs.png"), fullPage: true });

  await page.click("nav.mainnav >> text=관리");
  await page.waitForSelector("text=ops@demo.adpool.kr");
  await page.click("header >> text=English");
  await page.waitForSelector("nav.mainnav >> text=Inventory");
  assert.ok(await page.isVisible("h2 >> text=Add user"), "the toggle switches the page to English");
  await page.screenshot({ path: path.join(output, "04-admin-users-en.png"), fullPage: true });

  await page.click('[data-testid="logout"]');
  await page.waitForURL(/\/login$/);
  await page.goto(`${baseUrl}/`);
  assert.match(page.url(), /\/login/, "after sign-out the dashboard needs a new sign-in");
  await context.close();
});

test("a wrong password is refused with a generic message", async () => {
  const context = await browser.newContext({ locale: "en-US" });
  const page = watch(await context.newPage());
  await page.goto(`${baseUrl}/login`);
  await page.fill('input[name="email"]', "admin@demo.adpool.kr");
  await page.fill('input[name="password"]', "not-the-password");
  await page.click('button[type="submit"]');
  assert.equal(await page.textContent('[role="alert"]'), "Invalid email or password.");
  await context.close();
});

test("an operator corrects standard inventory and sees the unit heat map", async () => {
  const context = await browser.newContext({ locale: "ko-KR", viewport: { width: 1360, height: 900 } });
  const page = watch(await context.newPage());
  await page.goto(`${baseUrl}/login`);
  await page.fill('input[name="email"]', "ops@demo.adpool.kr");
  await page.fill('input[name="password"]', "adpool-demo-2026");
  await page.click('button[type="submit"]');
  await page.waitForSelector('[data-testid="dashboard-title"]');

  await page.click("nav.mainnav >> text=인벤토리");
  await page.waitForSelector("text=월별 현황");
  await page.screenshot({ path: path.join(output, "05-inventory.png"), fullPage: true });
  const month = (await page.textContent("table.grid tbody tr:last-child td strong")).trim();

  await page.goto(`${baseUrl}/inventory/${month}/standard?platform=PC`);
  const firstQty = page.locator('form.qty input[name="qty"]').first();
  await firstQty.fill("123456");
  await page.locator("form.qty button").first().click();
  await page.waitForSelector('p.flash.success');
  assert.match(await page.textContent("p.flash.success"), /123456/);
  assert.match(page.url(), /platform=PC/, "the filter survives the edit");
  assert.match(await page.textContent('[data-testid="month-state"]'), /확정되지 않았습니다/, "an edit asks for re-confirmation");
  assert.ok(await page.isVisible("text=edited in the standard table"), "the change is in the audit list");
  await page.screenshot({ path: path.join(output, "06-standard.png"), fullPage: false });

  // A build started from the page runs on the server's worker and finishes.
  await page.goto(`${baseUrl}/inventory`);
  await page.locator("text=표준 생성").first().click();
  await page.waitForURL(/\/jobs\/\d+$/);
  for (let i = 0; i < 20 && !(await page.isVisible("h1 >> text=완료")); i++) {
    await page.waitForTimeout(500);
    await page.reload();
  }
  assert.ok(await page.isVisible("h1 >> text=완료"), "the standard build job succeeded");

  await page.goto(`${baseUrl}/inventory/${month}/unit?media=WAVVE`);
  assert.equal(await page.locator('[data-testid="calendar"]').count(), 4, "one calendar per platform of the media");
  await page.screenshot({ path: path.join(output, "07-unit-heatmap.png"), fullPage: false });
  await context.close();
});

test("an operator downloads a campaign's proposal workbook", async () => {
  const context = await browser.newContext({ locale: "ko-KR", viewport: { width: 1360, height: 900 }, acceptDownloads: true });
  const page = watch(await context.newPage());
  await page.goto(`${baseUrl}/login`);
  await page.fill('input[name="email"]', "ops@demo.adpool.kr");
  await page.fill('input[name="password"]', "adpool-demo-2026");
  await page.click('button[type="submit"]');
  await page.waitForSelector('[data-testid="dashboard-title"]');

  await page.goto(`${baseUrl}/campaigns/1`);
  await page.screenshot({ path: path.join(output, "08-campaign.png"), fullPage: false });
  const [download] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="proposal"]')]);
  assert.match(download.suggestedFilename(), /^proposal-1\.xlsx$/);
  const saved = path.join(scratch, "proposal.xlsx");
  await download.saveAs(saved);
  const bytes = readFileSync(saved);
  assert.equal(bytes.subarray(0, 2).toString(), "PK", "an xlsx (zip) file");
  assert.ok(bytes.length > 4000, `a whole workbook, not an error page (${bytes.length} bytes)`);
  await context.close();
});

test("a shop page on another origin shows CPC ads, a click lands, and an admin reviews an advertiser", async () => {
  const key = demoLog.match(/X-Adpool-Key: (adk_[0-9a-f]+)/)?.[1];
  assert.ok(key, "the demo prints its site key");
  // The shop front end: another origin that fetches ads from adpool with the site key (CORS).
  const shop = createServer((_, res) => {
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(`<!doctype html><meta charset="utf-8"><h1>데모 쇼핑몰</h1><ul id="ads"></ul><script>
      fetch(${JSON.stringify(baseUrl)} + "/serve/ads?placement=home_top&category=camping&n=3&user=browser-user", { headers: { "X-Adpool-Key": ${JSON.stringify(key)} } })
        .then((r) => r.json())
        .then((body) => { for (const ad of body.ads) { const li = document.createElement("li"); li.innerHTML = '<a class="ad" href="' + ad.click_url + '">' + ad.title + ' (' + ad.price + '원)</a>'; document.getElementById("ads").appendChild(li); } document.body.dataset.ready = body.ads.length; })
        .catch((e) => { document.body.dataset.error = String(e); });
    </script>`);
  });
  await new Promise((resolve) => shop.listen(0, "127.0.0.1", resolve));
  const shopUrl = `http://127.0.0.1:${shop.address().port}/`;
  const context = await browser.newContext({ locale: "ko-KR", viewport: { width: 1280, height: 800 } });
  const page = watch(await context.newPage());
  // The landing pages live on the shop's real domain; answer them here (no network).
  await page.route("https://shop.demo.adpool.kr/**", (route) => route.fulfill({ contentType: "text/html", body: "<h1>landed</h1>" }));
  await page.goto(shopUrl);
  await page.waitForSelector("body[data-ready]");
  assert.equal(await page.getAttribute("body", "data-error"), null);
  const ads = page.locator("a.ad");
  assert.ok((await ads.count()) >= 1, "the ad query answered across origins");
  await page.screenshot({ path: path.join(output, "09-shop-ads.png") });
  await ads.first().click();
  await page.waitForURL(/shop\.demo\.adpool\.kr\/products\//);
  assert.equal(await page.textContent("h1"), "landed");
  shop.close();

  await page.goto(`${baseUrl}/login`);
  await page.fill('input[name="email"]', "admin@demo.adpool.kr");
  await page.fill('input[name="password"]', "adpool-demo-2026");
  await page.click('button[type="submit"]');
  await page.waitForSelector('[data-testid="dashboard-title"]');
  await page.goto(`${baseUrl}/cpc`);
  assert.ok(Number((await page.textContent('[data-testid="spend-today"]')).replace(/[^0-9]/g, "")) > 0, "today's spend includes the click");
  await page.locator('[data-testid="pending-advertisers"] button[value="approve"]').first().click();
  await page.waitForSelector('[data-testid="flash"]');
  assert.match(await page.textContent('[data-testid="flash"]'), /approved/);
  await page.screenshot({ path: path.join(output, "10-cpc.png"), fullPage: true });
  await page.goto(`${baseUrl}/cpc/campaigns/1`);
  assert.ok(await page.isVisible('[data-testid="cpc-metrics"]'), "the campaign report has rows");
  await page.screenshot({ path: path.join(output, "11-cpc-campaign.png"), fullPage: false });
  await context.close();
});

test("an analyst reads the spending analysis and writes messages; an operator maps and imports an unknown statement", async () => {
  const context = await browser.newContext({ locale: "ko-KR", viewport: { width: 1360, height: 900 } });
  const page = watch(await context.newPage());
  const signIn = async (email) => {
    await page.goto(`${baseUrl}/login`);
    await page.fill('input[name="email"]', email);
    await page.fill('input[name="password"]', "adpool-demo-2026");
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-testid="dashboard-title"]');
  };
  await signIn("analyst@demo.adpool.kr");
  await page.click("nav.mainnav >> text=인사이트");
  await page.waitForSelector('[data-testid="analyses"]');
  await page.screenshot({ path: path.join(output, "12-insights.png"), fullPage: true });
  await page.click('[data-testid="analyses"] tbody tr:first-child a');
  await page.waitForSelector('[data-testid="segments"]');
  assert.match(await page.textContent('[data-testid="analysis-state"]'), /done/);
  assert.ok(await page.isVisible('[data-testid="category-chart"] .hbar'), "spend by category is drawn");
  const before = await page.locator('[data-testid="messages"] section').count();
  await page.selectOption('[data-testid="write-messages"] select[name="segment"]', "champions");
  await page.selectOption('[data-testid="write-messages"] select[name="channel"]', "sms");
  await page.click('[data-testid="write-messages"] button');
  await page.waitForSelector('[data-testid="flash"]');
  assert.equal(await page.locator('[data-testid="messages"] section').count(), before + 3);
  const size = await page.textContent('[data-testid="messages"] section:first-child [data-testid="size"]');
  assert.ok(Number(size.split("/")[0]) <= 90, `an SMS fits 90 bytes: ${size}`);
  await page.screenshot({ path: path.join(output, "13-insight-analysis.png"), fullPage: true });

  await page.click('[data-testid="logout"]');
  await page.waitForURL(/\/login$/);
  await signIn("ops@demo.adpool.kr");
  await page.goto(`${baseUrl}/insights`);
  const statement = "동네 가게 매출\n일자,손님,가게,금액\n2026-11-20,C-1,성수 로스터리 하루,\"7,500\"\n2026-11-21,C-2,스타벅스 성수점,6100\n";
  await page.setInputFiles('[data-testid="statement-upload"] input[type="file"]', { name: "neighbourhood.csv", mimeType: "text/csv", buffer: Buffer.from(statement) });
  await page.click('[data-testid="statement-upload"] button');
  await page.waitForSelector('[data-testid="mapping-step"]');
  const step = page.locator('[data-testid="mapping-step"]');
  await step.locator('select[name="date"]').selectOption("일자");
  await step.locator('select[name="merchant"]').selectOption("가게");
  await step.locator('select[name="amount"]').selectOption("금액");
  await step.locator('select[name="customer"]').selectOption("손님");
  await step.locator('input[name="name"]').fill("동네 가게");
  await step.locator("button").click();
  await page.waitForSelector('[data-testid="confirm-import"]');
  assert.equal(await page.textContent('[data-testid="layout"]'), "mapping: 동네 가게");
  await page.screenshot({ path: path.join(output, "14-insight-preview.png"), fullPage: true });
  await page.click('[data-testid="confirm-import"] button');
  await page.waitForSelector('[data-testid="flash"]');
  assert.match(await page.textContent('[data-testid="flash"]'), /새 거래 2건/);
  await context.close();
});

test("a shop owner connects a Cafe24 store with its mall id alone, at 1440 and 390 px", async () => {
  for (const [width, mall] of [[1440, "newcamp"], [390, "newcamp-m"]]) {
    const context = await browser.newContext({ locale: "ko-KR", viewport: { width, height: 900 } });
    const page = watch(await context.newPage());
    await page.goto(`${baseUrl}/login`);
    await page.fill('input[name="email"]', "ops@demo.adpool.kr");
    await page.fill('input[name="password"]', "adpool-demo-2026");
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-testid="dashboard-title"]');
    await page.goto(`${baseUrl}/shops`);
    const form = page.locator('[data-testid="add-store"]');
    if (!(await form.isVisible())) await page.click("details.card > summary");
    await form.locator('select[name="platform"]').selectOption("cafe24");
    await form.locator('input[name="name"]').fill(`새 캠핑몰 ${width}`);
    await form.locator('input[name="mall_id"]').fill(mall);
    await form.locator("button").click();
    await page.waitForSelector('[data-testid="cafe24-connect"]');
    // The consent link leaves for Cafe24 (the fake answers as the real one: consent, then back
    // with a code) and comes back connected, with no CSP refusal on the way.
    await page.click('[data-testid="cafe24-connect-link"]');
    await page.waitForSelector('[data-testid="flash"]');
    assert.match(await page.textContent('[data-testid="flash"]'), /Cafe24/);
    assert.ok(await page.isVisible('[data-testid="sync-now"]'), "connected: the store can sync");
    assert.match(await page.textContent('[data-testid="store-health"]'), /운영자가 등록한 adpool Cafe24 앱/);
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), width, "nothing scrolls sideways");
    await page.screenshot({ path: path.join(output, `15-cafe24-connected-${width}.png`), fullPage: true });
    await context.close();
  }
});
