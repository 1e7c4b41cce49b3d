// Drives the web console in Debian's Chromium through playwright-core, as a person would:
// the landing page's search and a QR code, the operator signing in and onboarding an
// enterprise, that enterprise signing in, registering and editing an identifier, importing
// a CSV with one bad line, and the operator's dashboard before and after. Arguments: the
// node's base URL, the operator's identity and secret, the Chromium executable, the
// screenshot directory. Prints what it saw as JSON on stdout; screenshots every page.
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');

async function main() {
  const [base, opIdentity, opSecret, executablePath, shots] = process.argv.slice(2);
  fs.mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const seen = {};
  let n = 0;
  const shot = async (name) => {
    n += 1;
    await page.screenshot({ path: path.join(shots, `${String(n).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
  const tiles = async () => Object.fromEntries(await page.$$eval('.tile', (ts) => ts.map(
    (t) => [t.querySelector('.l').textContent, t.querySelector('.v').textContent])));
  const signIn = async (identity, secret) => {
    await page.goto(`${base}/console/login`);
    await page.fill('input[name=identity]', identity);
    await page.fill('input[name=secret]', secret);
    await Promise.all([page.waitForURL(`${base}/console`), page.click('main button[type=submit]')]);
  };
  const signOut = async () => {
    await Promise.all([page.waitForURL(`${base}/console/login`), page.click('nav button[type=submit]')]);
  };

  // The landing page and its search box.
  await page.goto(`${base}/`);
  seen.landingTitle = await page.textContent('h1');
  await shot('landing');
  await page.fill('input[name=handle]', '88.118.8/LANDING-1');
  await Promise.all([page.waitForLoadState('load'), page.press('input[name=handle]', 'Enter')]);
  seen.searchUrl = page.url();
  seen.searchTitle = await page.textContent('h1');
  await shot('values-page');
  const qr = await page.goto(`${base}/88.118.8/LANDING-1?qr=png`);
  seen.qrType = qr.headers()['content-type'];
  fs.writeFileSync(path.join(shots, 'qr.png'), await qr.body());

  // The operator signs in: the dashboard, then onboards an enterprise.
  await signIn(opIdentity, opSecret);
  seen.before = await tiles();
  await shot('dashboard-before');
  await page.goto(`${base}/console/enterprises`);
  await page.fill('input[name=name]', '重庆齿轮箱有限公司');
  await page.fill('input[name=prefix]', '88.118.20');
  await Promise.all([page.waitForLoadState('load'), page.click('form[action="/console/enterprises"] button')]);
  const identity = (await page.textContent('#identity')).trim();
  const secret = (await page.textContent('#secret')).trim();
  seen.onboarded = identity;
  await shot('enterprise-onboarded');
  await signOut();

  // The enterprise signs in, registers an identifier, edits it.
  await signIn(identity, secret);
  seen.enterpriseHome = await page.textContent('main');
  await shot('enterprise-home');
  await page.goto(`${base}/console/new?prefix=88.118.20`);
  await page.fill('input[name=suffix]', 'GBX-2026-000123');
  const types = page.locator('input[name=type]');
  const data = page.locator('input[name=data]');
  await types.nth(0).fill('URL');
  await data.nth(0).fill('https://gearbox.example.cn/p/000123');
  await types.nth(1).fill('productName');
  await data.nth(1).fill('齿轮箱 GBX');
  await shot('identifier-new');
  await Promise.all([page.waitForURL(/done=created/), page.click('form[action="/console/new"] button')]);
  await shot('identifier-created');
  await data.nth(0).fill('https://gearbox.example.cn/p/000123-v2');
  await Promise.all([page.waitForURL(/done=saved/), page.click('input[value=save] ~ button')]);
  seen.savedFlash = await page.textContent('.flash');
  seen.detail = await page.textContent('main table');
  await shot('identifier-edited');
  // Found again by a piece of a value.
  await page.goto(`${base}/console/prefixes/88.118.20`);
  await page.fill('input[name=value]', '000123-V2');
  await Promise.all([page.waitForLoadState('load'), page.press('input[name=value]', 'Enter')]);
  seen.valueSearch = await page.textContent('main');
  await shot('search-by-value');

  // A CSV with one bad line: the fault is shown, nothing is written.
  await page.goto(`${base}/console/import?prefix=88.118.20`);
  const csv = 'handle,index,type,data\n88.118.20/IMP-1,1,URL,https://gearbox.example.cn/i/1\n'
    + '88.118.20/IMP-2,two,URL,https://gearbox.example.cn/i/2\n88.118.20/IMP-3,1,URL,https://gearbox.example.cn/i/3\n';
  await page.setInputFiles('input[type=file]', { name: 'small.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await Promise.all([page.waitForURL(/\/console\/import\/.+/), page.click('form[enctype="multipart/form-data"] button')]);
  // The import's page reloads itself until the import ends.
  await page.waitForSelector('#outcome', { timeout: 30000 });
  seen.importOutcome = await page.textContent('#outcome');
  await shot('import-refused');
  const imp1 = await page.request.get(`${base}/api/handles/88.118.20/IMP-1`);
  seen.imp1Status = imp1.status();
  await page.goto(`${base}/console/templates`);
  seen.templatesTitle = await page.textContent('h1');
  await shot('templates');
  await page.goto(`${base}/console/stats`);
  seen.enterpriseStats = await page.textContent('main table');
  await shot('enterprise-statistics');
  // A new secret: shown once, this session ends, the new secret signs in.
  await page.goto(`${base}/console/credentials`);
  await page.check('input[name=confirm]');
  await Promise.all([page.waitForLoadState('load'), page.click('form[action="/console/credentials"] button')]);
  const rotated = (await page.textContent('#secret')).trim();
  seen.rotatedDiffers = rotated !== secret;
  await shot('credentials-rotated');
  await page.goto(`${base}/console`);
  seen.afterRotation = page.url();
  await signIn(identity, rotated);

  await signOut();

  // The operator's dashboard has moved.
  await signIn(opIdentity, opSecret);
  seen.after = await tiles();
  seen.resolutionTable = await page.textContent('main table');
  seen.dashboardText = await page.textContent('main');
  await shot('dashboard-after');
  await page.goto(`${base}/console/trace?epc=${encodeURIComponent('hdl:88.118.8/GBX-TRACE')}&direction=back`);
  seen.traceNodes = await page.$$eval('#trace-graph rect', (r) => r.length);
  seen.traceText = await page.textContent('#trace-graph');
  await shot('trace-graph');
  await page.goto(`${base}/console/audit`);
  seen.audit = await page.textContent('main table');
  await shot('audit-log');
  await page.goto(`${base}/console?lang=en`);
  seen.english = await page.textContent('h1');
  await shot('dashboard-english');
  await browser.close();
  process.stdout.write(JSON.stringify(seen));
}

main().catch((e) => { console.error(e); process.exit(1); });
