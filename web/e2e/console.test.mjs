// The web console in a real browser (Debian's chromium through playwright-core),
// against the real binary. Run by `go test ./e2e -run TestConsole`, which starts the
// servers and passes their URLs:
//   CONSOLE_URL         the demo, without auth
//   CONSOLE_SECURE_URL  examples/secure.yaml: alice (admin), bob (reader)
//   CONSOLE_OUT         where screenshots go
//   CONSOLE_TMP         a scratch directory (files to upload)
// Waits are on conditions with generous bounds, never on time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const URL0 = process.env.CONSOLE_URL;
const SECURE = process.env.CONSOLE_SECURE_URL;
const OUT = process.env.CONSOLE_OUT;
const TMP = process.env.CONSOLE_TMP;
const WAIT = { timeout: 30_000 };
const LIMIT = 240_000; // a whole test: a hang fails it instead of the whole run

let browser;
const problems = []; // script errors and CSP violations seen on any page

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});
after(async () => { await browser?.close(); });

// newPage opens a page that fails the test on any alert() (an XSS that ran), script
// error or CSP report.
async function newPage(context) {
  const page = await context.newPage();
  page.on('dialog', (d) => { problems.push(`a dialog opened: ${d.message()}`); d.dismiss(); });
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return page;
}

async function context(opts = {}) {
  return browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true, ...opts });
}

// check runs axe-core on the page (0 serious or critical violations) and saves a screenshot.
async function check(page, name) {
  await page.evaluate(axeSource); // through the debugger protocol: the page's CSP does not apply
  const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), [],
    `axe on ${name} (${page.url()})`);
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

async function api(base, method, path, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    if (!init.headers['Content-Type']) init.headers['Content-Type'] = 'application/json';
  }
  return fetch(base + path, init);
}

function noProblems() {
  assert.deepEqual(problems.splice(0), [], 'script errors, CSP reports or dialogs');
}

// tabReach presses Tab until focus comes back around, and returns how many of the
// page's visible controls it reached, and which it missed.
async function tabReach(page) {
  await page.evaluate(() => {
    document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea').forEach((el, i) => { el.dataset.kb = String(i); });
    document.activeElement?.blur();
  });
  const reached = new Set();
  for (let i = 0; i < 200; i += 1) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement?.dataset?.kb ?? null);
    if (id !== null) {
      if (reached.has(id) && reached.size > 1) break;
      reached.add(id);
    }
  }
  return page.evaluate((seen) => Array.from(document.querySelectorAll('[data-kb]'))
    .filter((el) => el.offsetParent !== null && !el.disabled && !(el.type === 'radio' && !el.checked))
    .filter((el) => !seen.includes(el.dataset.kb))
    .map((el) => el.outerHTML.slice(0, 80)), Array.from(reached));
}

test('overview, lists and every control reachable by keyboard (demo, no auth)', { timeout: LIMIT }, async () => {
  const ctx = await context();
  const page = await newPage(ctx);
  const res = await page.goto(`${URL0}/ui/`);
  const csp = res.headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  await page.getByRole('heading', { name: 'Overview' }).waitFor(WAIT);
  await page.getByRole('link', { name: 'cars' }).first().waitFor(WAIT);
  await check(page, 'overview');
  assert.deepEqual(await tabReach(page), []);
  for (const [path, name] of [['/ui/r/v1/people', 'people-list'], ['/ui/a/', 'directories'], ['/ui/r/cars/new', 'create']]) {
    await page.goto(URL0 + path);
    await check(page, name);
    assert.deepEqual(await tabReach(page), [], `keyboard on ${path}`);
  }
  noProblems();
  await ctx.close();
});

test('create, validate, edit, conflict and delete a car', { timeout: LIMIT }, async () => {
  const ctx = await context();
  const page = await newPage(ctx);
  await page.goto(`${URL0}/ui/r/cars/new`);
  await page.getByLabel('id').fill('41');
  await page.getByLabel('model').fill('Golf');
  await page.getByLabel('color').fill('red');
  await page.getByLabel('year').fill('not a year');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByText('must be an integer').waitFor(WAIT); // beside the field
  assert.equal(await page.getByLabel('year').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('year').fill('2010');
  await page.getByLabel('model').fill(''); // now the server's own check: model is required
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('#e-model').waitFor(WAIT); // "is required", from the API's 400
  assert.match(await page.locator('#e-model').textContent(), /required/);
  await check(page, 'create-errors');
  await page.getByLabel('model').fill('Golf');
  await page.getByLabel('year').fill('2010');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/\/ui\/r\/cars\/k\/41$/, WAIT);
  await page.getByRole('heading', { name: 'car 41' }).waitFor(WAIT);
  assert.match(await page.locator('#etag').textContent(), /^"1-/);
  assert.equal((await (await api(URL0, 'GET', '/cars/41')).json()).model, 'Golf');

  // Edit, and see the history grow, with a diff.
  await page.getByRole('link', { name: 'Edit' }).click();
  await page.getByLabel('color').fill('blue');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/\/ui\/r\/cars\/k\/41$/, WAIT);
  await page.getByText('revision 2').first().waitFor(WAIT);
  await page.locator('table.diff tr.changed').filter({ hasText: 'color' }).waitFor(WAIT);
  await check(page, 'record');

  // A conflict: someone else saves while the form is open.
  await page.getByRole('link', { name: 'Edit' }).click();
  await page.getByLabel('year').fill('2011');
  const patch = await api(URL0, 'PATCH', '/cars/41', { model: 'Golf GTI' });
  assert.equal(patch.status, 200);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Someone else saved this record').waitFor(WAIT);
  await page.getByText('Golf GTI').first().waitFor(WAIT);
  await check(page, 'edit-conflict');
  await page.getByRole('button', { name: 'Merge' }).click();
  await page.getByText('Merged: the saved version with your changes').waitFor(WAIT);
  assert.equal(await page.getByLabel('model').inputValue(), 'Golf GTI');
  assert.equal(await page.getByLabel('year').inputValue(), '2011');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/\/ui\/r\/cars\/k\/41$/, WAIT);
  const merged = await (await api(URL0, 'GET', '/cars/41')).json();
  assert.deepEqual([merged.model, merged.color, merged.year], ['Golf GTI', 'blue', 2011]);

  // Delete, confirmed in the dialog, by keyboard alone.
  await page.getByRole('button', { name: 'Delete' }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.locator('dialog#confirm');
  await dialog.waitFor({ state: 'visible', ...WAIT });
  await check(page, 'delete-confirm');
  await page.keyboard.press('Tab'); // from Cancel to Delete
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/ui\/r\/cars$/, WAIT);
  assert.equal((await api(URL0, 'GET', '/cars/41')).status, 404);
  noProblems();
  await ctx.close();
});

test('lists: sort by a column, filter, page with keyset cursors, count, export CSV', { timeout: LIMIT }, async () => {
  for (let i = 0; i < 25; i += 1) {
    const r = await api(URL0, 'POST', '/cars', { id: 100 + i, model: `M${i}`, color: i % 2 ? 'red' : 'blue', year: 2000 + i });
    assert.equal(r.status, 201);
  }
  const ctx = await context();
  const page = await newPage(ctx);
  await page.goto(`${URL0}/ui/r/cars?limit=10`);
  await page.getByRole('link', { name: 'year' }).click();
  await page.getByRole('link', { name: 'year ▲' }).click(); // descending
  await page.waitForURL(/sort=-year/, WAIT);
  assert.equal(await page.locator('tbody tr').first().locator('td').first().textContent(), '124');
  await page.locator('#ff-0').selectOption('color');
  await page.locator('#fv-0').fill('red');
  await page.getByLabel('count all').check();
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.getByText('12 records in all').waitFor(WAIT);
  await check(page, 'list');
  await page.getByRole('link', { name: 'Next →' }).click();
  await page.waitForURL(/cursor=/, WAIT);
  assert.equal(await page.locator('tbody tr').count(), 2);
  await page.getByRole('link', { name: '← Previous' }).click();
  await page.waitForURL(/cursor=/, WAIT);
  assert.equal(await page.locator('tbody tr').count(), 10);
  const [download] = await Promise.all([page.waitForEvent('download', WAIT), page.getByRole('link', { name: 'Export CSV' }).click()]);
  const csv = readFileSync(await download.path(), 'utf8');
  assert.equal(csv.trim().split('\n').length, 13, csv); // header + the 12 red cars
  assert.match(csv.split('\n')[0], /id,model,color,year/);
  noProblems();
  await ctx.close();
});

test('hostile values and names are shown as text, never run', { timeout: LIMIT }, async () => {
  const hostile = ['<script>alert(1)</script>', '"><img src=x onerror=alert(2)>', 'javascript:alert(3)'];
  for (const [i, model] of hostile.entries()) {
    await api(URL0, 'POST', '/cars', { id: 900 + i, model, color: `"><svg onload=alert(${i})>` });
  }
  const name = '"><img src=x onerror=alert(4)>.txt';
  const put = await api(URL0, 'PUT', `/artefacts/${encodeURIComponent('<b>x<i>')}/${encodeURIComponent(name)}`, 'boo', { 'Content-Type': 'text/html' });
  assert.equal(put.status, 201);
  const ctx = await context();
  const page = await newPage(ctx);
  await page.goto(`${URL0}/ui/r/cars?f=id&op=gte&v=900`);
  for (const text of hostile) await page.getByText(text, { exact: true }).first().waitFor(WAIT);
  assert.equal(await page.locator('img, svg, script:not([src])').count(), 0);
  await page.goto(`${URL0}/ui/r/cars/k/901`);
  await page.getByText(hostile[1], { exact: true }).waitFor(WAIT);
  await page.goto(`${URL0}/ui/a/`);
  await page.getByRole('link', { name: '<b>x<i>' }).click();
  await page.getByRole('link', { name, exact: true }).waitFor(WAIT);
  assert.equal(await page.locator('main img, main b').count(), 0);
  await page.getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { name }).waitFor(WAIT);
  noProblems();
  await ctx.close();
});

test('the LED: toggle in one tab, watch another tab follow; set and reset', { timeout: LIMIT }, async () => {
  await api(URL0, 'DELETE', '/led');
  const ctx = await context();
  const a = await newPage(ctx);
  const b = await newPage(ctx);
  await a.goto(`${URL0}/ui/n/led`);
  await b.goto(`${URL0}/ui/n/led`);
  const stateIn = (p) => p.locator('dd[data-field="state"]');
  assert.equal(await stateIn(b).textContent(), 'off');
  await a.getByRole('button', { name: 'Toggle state' }).click();
  await a.waitForURL(/\/ui\/n\/led$/, WAIT);
  assert.equal(await stateIn(a).textContent(), 'on');
  await b.bringToFront();
  await b.waitForFunction(() => document.querySelector('dd[data-field="state"]').textContent === 'on', null, WAIT);
  await check(a, 'noun');
  await a.getByLabel('brightness').fill('80');
  await a.getByRole('button', { name: 'Set', exact: true }).click();
  await a.locator('dd[data-field="brightness"]').filter({ hasText: '80' }).waitFor(WAIT);
  await a.getByRole('button', { name: 'Reset' }).click();
  await a.locator('dialog#confirm').getByRole('button', { name: 'Reset' }).click();
  await a.locator('dd[data-field="brightness"]').filter({ hasText: '50' }).waitFor(WAIT);
  assert.deepEqual(await (await api(URL0, 'GET', '/led')).json(), { state: 'off', brightness: 50 });
  noProblems();
  await ctx.close();
});

function sha256File(path) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

test('artefacts: upload 50 MiB with progress, download it whole; drop two files; delete a directory', { timeout: LIMIT }, async () => {
  const big = join(TMP, 'big.bin');
  writeFileSync(big, randomBytes(50 * 1024 * 1024));
  const want = await sha256File(big);
  const ctx = await context();
  const page = await newPage(ctx);
  await page.goto(`${URL0}/ui/a/`);
  await page.getByLabel('Directory').fill('builds');
  await page.locator('#up-files').setInputFiles(big);
  // Watch the upload's progress events and the progress bar they drive; what they
  // said is kept in sessionStorage, which outlives the page the upload leaves.
  await page.evaluate(() => {
    const send = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.send = function (body) {
      this.upload.addEventListener('progress', (event) => {
        sessionStorage.setItem('sent', String(event.loaded));
        queueMicrotask(() => {
          const bar = document.querySelector('[data-progress] progress');
          sessionStorage.setItem('bar', String(Math.max(Number(sessionStorage.getItem('bar') || 0), bar ? bar.value : 0)));
        });
      });
      return send.call(this, body);
    };
  });
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.waitForURL(/\/ui\/a\/builds\/$/, { timeout: 120_000 });
  const progress = await page.evaluate(() => [sessionStorage.getItem('sent'), sessionStorage.getItem('bar')]);
  assert.deepEqual(progress.map(Number), [50 * 1024 * 1024, 50 * 1024 * 1024], 'the progress events and the bar reached every byte');
  await page.getByRole('link', { name: 'big.bin', exact: true }).waitFor(WAIT);
  const meta = await (await api(URL0, 'GET', '/artefacts/builds/big.bin/versions')).json();
  assert.equal(meta[0].sha256, want);
  await check(page, 'directory');
  assert.equal((await api(URL0, 'PUT', '/artefacts/builds/big.bin', 'version two', { 'Content-Type': 'text/plain' })).status, 200);

  // Download through the page's link and compare the digest.
  await page.getByRole('link', { name: 'big.bin', exact: true }).click();
  await page.getByRole('heading', { name: 'big.bin' }).waitFor(WAIT);
  assert.equal(await page.locator('tbody tr').count(), 2); // two versions
  await check(page, 'artefact');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }),
    page.getByRole('link', { name: 'Download version 1' }).click()]);
  assert.equal(await sha256File(await download.path()), want);

  // Drag and drop two files onto the drop zone.
  await page.goto(`${URL0}/ui/a/builds/`);
  await page.locator('[data-drop]').evaluate((zone) => {
    const dt = new DataTransfer();
    dt.items.add(new File(['first file\n'], 'one.txt', { type: 'text/plain' }));
    dt.items.add(new File(['second file\n'], 'two.txt', { type: 'text/plain' }));
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await page.getByRole('link', { name: 'one.txt', exact: true }).waitFor(WAIT);
  await page.getByRole('link', { name: 'two.txt', exact: true }).waitFor(WAIT);
  assert.equal(await (await api(URL0, 'GET', '/artefacts/builds/two.txt')).text(), 'second file\n');

  // Delete one version, then the whole directory.
  await page.goto(`${URL0}/ui/a/builds/big.bin`);
  await page.getByRole('button', { name: 'Delete version 1' }).click();
  await page.locator('dialog#confirm').getByRole('button', { name: /Delete/ }).click();
  await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1, null, WAIT);
  await page.goto(`${URL0}/ui/a/builds/`);
  await page.getByRole('button', { name: 'Delete directory' }).click();
  await page.locator('dialog#confirm').getByRole('button', { name: /Delete/ }).click();
  await page.waitForURL(/\/ui\/a\/$/, WAIT);
  assert.equal((await api(URL0, 'GET', '/artefacts/builds')).status, 404);
  noProblems();
  await ctx.close();
});

// watchUploads records, in sessionStorage (which outlives the page the upload
// leaves), the URL of every PUT the page sends and the bytes its last progress event
// said were sent.
async function watchUploads(page) {
  await page.evaluate(() => {
    const open = XMLHttpRequest.prototype.open;
    XMLHttpRequest.prototype.open = function (method, url, ...rest) {
      if (method === 'PUT') sessionStorage.setItem('put', url);
      return open.call(this, method, url, ...rest);
    };
    const send = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.send = function (body) {
      this.upload.addEventListener('progress', (event) => sessionStorage.setItem('sent', String(event.loaded)));
      return send.call(this, body);
    };
  });
}

test('artefacts in nested directories: upload, breadcrumbs, download, delete', { timeout: LIMIT }, async () => {
  const first = join(TMP, 'app.bin');
  writeFileSync(first, randomBytes(3 * 1024 * 1024));
  const want = await sha256File(first);
  const second = join(TMP, 'notes.txt');
  writeFileSync(second, 'release notes\n');
  assert.equal((await api(URL0, 'PUT', '/artefacts/org/app/2.0.0/keep.txt', 'kept', { 'Content-Type': 'text/plain' })).status, 201);
  const ctx = await context();
  const page = await newPage(ctx);

  // Upload into a new nested directory from the repository's page: the PUT names it
  // segment by segment, and the progress reached every byte.
  await page.goto(`${URL0}/ui/a/`);
  await page.getByLabel('Directory', { exact: true }).fill('org/app/1.2.0');
  await page.locator('#up-files').setInputFiles(first);
  await watchUploads(page);
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.waitForURL(/\/ui\/a\/org\/app\/1\.2\.0\/$/, { timeout: 120_000 });
  const [putURL, sent] = await page.evaluate(() => [sessionStorage.getItem('put'), sessionStorage.getItem('sent')]);
  assert.equal(putURL, '/artefacts/org/app/1.2.0/app.bin');
  assert.equal(Number(sent), 3 * 1024 * 1024);
  await page.getByRole('link', { name: 'app.bin', exact: true }).waitFor(WAIT);
  assert.equal((await (await api(URL0, 'GET', '/artefacts/org/app/1.2.0/app.bin/versions')).json())[0].sha256, want);

  // Upload into the current nested directory, from its own page.
  await page.locator('#up-files').setInputFiles(second);
  await watchUploads(page);
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.getByRole('link', { name: 'notes.txt', exact: true }).waitFor(WAIT);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('put')), '/artefacts/org/app/1.2.0/notes.txt');
  assert.equal(await (await api(URL0, 'GET', '/artefacts/org/app/1.2.0/notes.txt')).text(), 'release notes\n');
  await check(page, 'directory-nested');
  assert.deepEqual(await tabReach(page), [], 'keyboard on a nested directory');

  // Breadcrumbs: a link per segment, up to the top; subdirectory links back down.
  const crumbs = page.locator('nav.crumbs');
  assert.deepEqual(await crumbs.locator('a').allTextContents(), ['Overview', 'artefacts', 'org', 'app']);
  assert.equal(await crumbs.locator('[aria-current="page"]').textContent(), '1.2.0');
  await crumbs.getByRole('link', { name: 'app', exact: true }).click();
  await page.waitForURL(/\/ui\/a\/org\/app\/$/, WAIT);
  await page.getByRole('link', { name: '2.0.0/', exact: true }).waitFor(WAIT);
  await check(page, 'directory-subdirectories');
  await page.locator('nav.crumbs').getByRole('link', { name: 'org', exact: true }).click();
  await page.waitForURL(/\/ui\/a\/org\/$/, WAIT);
  await page.getByRole('link', { name: 'app/', exact: true }).click();
  await page.getByRole('link', { name: '1.2.0/', exact: true }).click();
  await page.waitForURL(/\/ui\/a\/org\/app\/1\.2\.0\/$/, WAIT);

  // The artefact's page at depth, and its download.
  await page.getByRole('link', { name: 'app.bin', exact: true }).click();
  await page.getByRole('heading', { name: 'app.bin' }).waitFor(WAIT);
  assert.deepEqual(await page.locator('nav.crumbs a').allTextContents(), ['Overview', 'artefacts', 'org', 'app', '1.2.0']);
  await check(page, 'artefact-nested');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }),
    page.getByRole('link', { name: 'Download latest' }).click()]);
  assert.equal(await sha256File(await download.path()), want);

  // Delete the file, confirmed in the dialog: back to its directory.
  await page.getByRole('button', { name: 'Delete all versions' }).click();
  await page.locator('dialog#confirm').getByRole('button', { name: /Delete/ }).click();
  await page.waitForURL(/\/ui\/a\/org\/app\/1\.2\.0\/$/, WAIT);
  assert.equal((await api(URL0, 'GET', '/artefacts/org/app/1.2.0/app.bin')).status, 404);
  await page.getByRole('link', { name: 'notes.txt', exact: true }).waitFor(WAIT);

  // Delete the nested directory: the dialog asks (by keyboard alone), the subtree
  // goes, and the parent, which still holds 2.0.0, is shown.
  await page.getByRole('button', { name: 'Delete directory' }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.locator('dialog#confirm');
  await dialog.waitFor({ state: 'visible', ...WAIT });
  assert.equal(await dialog.locator('#confirm-text').textContent(), 'Delete the directory org/app/1.2.0 and everything in it?');
  await check(page, 'delete-directory-nested');
  await page.keyboard.press('Tab'); // from Cancel to Delete
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/ui\/a\/org\/app\/$/, WAIT);
  assert.equal((await api(URL0, 'GET', '/artefacts/org/app/1.2.0/notes.txt')).status, 404);
  assert.equal(await (await api(URL0, 'GET', '/artefacts/org/app/2.0.0/keep.txt')).text(), 'kept');
  assert.equal(await page.getByRole('link', { name: '1.2.0/', exact: true }).count(), 0);
  await page.getByRole('link', { name: '2.0.0/', exact: true }).waitFor(WAIT);

  // A path trick is a page that says what is wrong. (A browser resolves %2e%2e as ..
  // itself, by the URL standard; the Go tests send it as it is.)
  const res = await page.goto(`${URL0}/ui/a/org%2Fapp/`);
  assert.equal(res.status(), 400);
  await page.getByText('directory name must not contain a slash').waitFor(WAIT);
  await check(page, 'artefact-path-error');
  await api(URL0, 'DELETE', '/artefacts/org/');
  noProblems();
  await ctx.close();
});

test('without JavaScript: reading works and a delete asks on a page of its own', { timeout: LIMIT }, async () => {
  await api(URL0, 'POST', '/cars', { id: 77, model: 'NoJS', color: 'red' });
  const ctx = await context({ javaScriptEnabled: false });
  const page = await newPage(ctx);
  await page.goto(`${URL0}/ui/r/cars/k/77`);
  await page.getByText('NoJS').waitFor(WAIT);
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('heading', { name: 'Delete car 77?' }).waitFor(WAIT);
  assert.equal((await api(URL0, 'GET', '/cars/77')).status, 200, 'not deleted before the confirmation');
  await page.screenshot({ path: join(OUT, 'confirm-page-nojs.png'), fullPage: true });
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.waitForURL(/\/ui\/r\/cars$/, WAIT);
  assert.equal((await api(URL0, 'GET', '/cars/77')).status, 404);
  await ctx.close();
  // The same page in a browser with scripts, for axe (which needs them): form.submit()
  // sends the form without the submit event the dialog listens for.
  await api(URL0, 'POST', '/cars', { id: 78, model: 'NoJS', color: 'red' });
  const js = await context();
  const p2 = await newPage(js);
  await p2.goto(`${URL0}/ui/r/cars/k/78`);
  await p2.locator('form[data-confirm]').evaluate((f) => f.submit());
  await p2.getByRole('heading', { name: 'Delete car 78?' }).waitFor(WAIT);
  await check(p2, 'confirm-page');
  noProblems();
  await js.close();
});

test('at 390 px wide and in dark mode the pages still read', { timeout: LIMIT }, async () => {
  const ctx = await context({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  const page = await newPage(ctx);
  for (const [path, name] of [['/ui/', 'overview-390-dark'], ['/ui/r/cars', 'list-390-dark'], ['/ui/n/led', 'noun-390-dark']]) {
    await page.goto(URL0 + path);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${path} is ${overflow}px wider than the screen`);
    await check(page, name);
  }
  noProblems();
  await ctx.close();
});

// signIn fills the sign-in form.
async function signIn(page, user, password) {
  await page.goto(`${SECURE}/ui/`);
  await page.waitForURL(/\/ui\/sign-in/, WAIT);
  await page.getByLabel('User name', { exact: true }).fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`Signed in as ${user}`).waitFor(WAIT);
}

test('sign in as a reader: no write actions offered, and the server refuses them anyway', { timeout: LIMIT }, async () => {
  const alice = 'Basic ' + Buffer.from('alice:alice-secret').toString('base64');
  await api(SECURE, 'POST', '/cars', { id: 5, model: 'T', color: 'black' }, { Authorization: alice });
  await api(SECURE, 'PUT', '/artefacts/docs/a.txt', 'hello', { Authorization: alice, 'Content-Type': 'text/plain' });
  await api(SECURE, 'PUT', '/artefacts/docs/guides/b.txt', 'nested', { Authorization: alice, 'Content-Type': 'text/plain' });
  const ctx = await context();
  const page = await newPage(ctx);
  await page.goto(`${SECURE}/ui/r/cars`);
  await page.waitForURL(/\/ui\/sign-in\?next=/, WAIT);
  await check(page, 'signin');
  await page.getByLabel('User name', { exact: true }).fill('bob');
  await page.getByLabel('Password', { exact: true }).fill('wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('The user name or password is not valid.').waitFor(WAIT);
  await page.getByLabel('User name', { exact: true }).fill('bob');
  await page.getByLabel('Password', { exact: true }).fill('bob-secret');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/ui\/r\/cars$/, WAIT); // back where the sign-in began
  const cookie = (await ctx.cookies()).find((c) => c.name === 'restkit_session');
  assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict' && cookie.path === '/', JSON.stringify(cookie));
  assert.equal(await page.getByRole('link', { name: /New car/ }).count(), 0);
  await page.goto(`${SECURE}/ui/r/cars/k/5`);
  await page.getByRole('heading', { name: 'car 5' }).waitFor(WAIT);
  assert.equal(await page.getByRole('link', { name: 'Edit' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Delete' }).count(), 0);
  await page.goto(`${SECURE}/ui/n/led`);
  assert.equal(await page.getByRole('button', { name: /Toggle|Reset|Set/ }).count(), 0);
  await page.goto(`${SECURE}/ui/a/docs/`);
  await page.getByRole('link', { name: 'a.txt', exact: true }).waitFor(WAIT);
  assert.equal(await page.getByRole('button', { name: /Upload|Delete/ }).count(), 0);
  await check(page, 'reader-directory');
  await page.getByRole('link', { name: 'guides/', exact: true }).click();
  await page.getByRole('link', { name: 'b.txt', exact: true }).waitFor(WAIT);
  assert.equal(await page.getByRole('button', { name: /Upload|Delete/ }).count(), 0);
  await page.getByRole('link', { name: 'b.txt', exact: true }).click();
  await page.getByRole('heading', { name: 'b.txt' }).waitFor(WAIT);
  assert.equal(await page.getByRole('button', { name: /Delete/ }).count(), 0);
  // The server enforces what the page leaves out: the session's own token, and still 403.
  const refused = await page.evaluate(async () => {
    const token = document.querySelector('meta[name="csrf-token"]').content;
    const r = await fetch('/cars/5', { method: 'DELETE', headers: { 'X-CSRF-Token': token } });
    return r.status;
  });
  assert.equal(refused, 403);
  // The console's own form posts are refused by the API too (a forged form).
  const posted = await page.evaluate(async () => {
    const token = document.querySelector('meta[name="csrf-token"]').content;
    const r = await fetch('/ui/r/cars/k/5/delete', { method: 'POST', body: new URLSearchParams({ csrf: token, confirm: 'yes' }) });
    return r.status;
  });
  assert.equal(posted, 403);
  assert.equal((await api(SECURE, 'GET', '/cars/5', undefined, { Authorization: alice })).status, 200);

  // Sign out: back to the sign-in page, and the old cookie no longer works.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/ui\/sign-in$/, WAIT);
  const replay = await api(SECURE, 'GET', '/cars', undefined, { Cookie: `restkit_session=${cookie.value}` });
  assert.equal(replay.status, 401);
  await page.goto(`${SECURE}/ui/r/cars`);
  await page.waitForURL(/\/ui\/sign-in/, WAIT);
  noProblems();
  await ctx.close();
});

test('sign in as an admin: write with the session, CSRF enforced', { timeout: LIMIT }, async () => {
  const ctx = await context();
  const page = await newPage(ctx);
  await signIn(page, 'alice', 'alice-secret');
  await check(page, 'overview-signed-in');
  const [without, withToken] = await page.evaluate(async () => {
    const body = JSON.stringify({ id: 6, model: 'S', color: 'red' });
    const a = await fetch('/cars', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    const token = document.querySelector('meta[name="csrf-token"]').content;
    const b = await fetch('/cars', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token }, body });
    return [a.status, b.status];
  });
  assert.deepEqual([without, withToken], [403, 201]);
  await page.goto(`${SECURE}/ui/n/led`);
  await page.getByRole('button', { name: 'Toggle state' }).click();
  await page.locator('dd[data-field="state"]').filter({ hasText: 'on' }).waitFor(WAIT);
  await page.goto(`${SECURE}/ui/r/cars/k/6`);
  await page.getByRole('link', { name: 'Edit' }).waitFor(WAIT);
  await page.getByRole('button', { name: 'Delete' }).waitFor(WAIT);
  noProblems();
  await ctx.close();
});
