// bench/portal: one staff member's CSV export of a whole form, in Chromium, against the real
// server, timed and with the browser's memory sampled. Run by bench/portal/bench.py, which
// passes everything in the environment:
//   SEALPOST_ORIGIN        https://localhost:PORT (the server's public origin)
//   BENCH_EMAIL, BENCH_PASSWORD, BENCH_TOTP_SECRET, BENCH_PASSPHRASE
//   BENCH_TOTP_AFTER_STEP  the last TOTP time step already spent (the server takes each once)
//   BENCH_EXPECTED_ROWS    N: the export must have exactly N rows with N distinct references
//   BENCH_SAMPLE_MS        memory sampling period (default 250)
//   BENCH_WORKER_JS        optional: a file served instead of the app's worker.js, to measure
//                          a change to the worker without rebuilding the server (the worker
//                          is not loaded under SRI; app.js is, so it cannot be swapped here)
// Prints progress on stdout and, last, `RESULT {json}`; exits 1 if anything is off.
//
// What it does, as a person would: sign-in page (password, then a TOTP code computed here),
// open the intake form, unlock the key with its passphrase (openpgp.js in the app's worker),
// click Export (CSV), wait for the download to finish. Timing runs from the click to the
// finished file. Memory, sampled every BENCH_SAMPLE_MS during the export:
//   - the page's JS heap (CDP Performance.getMetrics JSHeapUsedSize on the page);
//   - the decryption worker's JS heap (CDP Runtime.getHeapUsage on the worker's target,
//     reached through a browser-level CDP session);
//   - every Chromium process's RSS from /proc (VmRSS sampled, and VmHWM, the kernel's exact
//     peak, reset just before the click). The tab's renderer is the renderer process with the
//     largest peak; the browser process is where Chromium keeps Blob data.
// Trust: benchmark-only code; talks to a server on 127.0.0.1 that the benchmark started.
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { launch, totp } from '../../tests/browser/lib.mjs';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const origin = env('SEALPOST_ORIGIN');
const expected = Number(env('BENCH_EXPECTED_ROWS'));
const sampleMs = Number(env('BENCH_SAMPLE_MS', '250'));
const serverPid = Number(env('BENCH_SERVER_PID', '0'));
const clockTicks = Number(env('BENCH_CLK_TCK', '100'));
const kHour = 3600 * 1000;

const log = (text) => console.log(`${new Date().toISOString().slice(11, 19)} ${text}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A TOTP code for a time step after `afterStep` that the server accepts now (it takes steps
// within one of the current one, each once, in increasing order).
async function freshCode(secret, afterStep) {
  for (;;) {
    if ((Date.now() / 1000) % 30 > 28.5) await sleep(1600);
    const nowStep = Math.floor(Date.now() / 1000 / 30);
    const step = Math.max(afterStep + 1, nowStep);
    if (step <= nowStep + 1) return { step, code: totp(secret, step * 30) };
    await sleep((30 - ((Date.now() / 1000) % 30) + 0.2) * 1000);
  }
}

// ---- /proc: every process of this Chromium ----------------------------------------------------

function children(pid) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function descendants(pid) {
  const all = [];
  const queue = [pid];
  while (queue.length) {
    const next = children(queue.shift());
    all.push(...next);
    queue.push(...next);
  }
  return all;
}

function chromiumProcesses() {
  const found = [];
  for (const pid of descendants(process.pid)) {
    let cmdline;
    try {
      // Processes forked from Chromium's zygote rewrite their command line into one string
      // (arguments separated by spaces, not NULs): match on the whole text.
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (!/chrom/i.test(cmdline.split(' ')[0])) continue;
    const typeArg = /(?:^| )--type=(\S+)/.exec(cmdline);
    const utility = /(?:^| )--utility-sub-type=(\S+)/.exec(cmdline);
    const type = typeArg ? typeArg[1] + (utility ? `:${utility[1]}` : '') : 'browser';
    found.push({ pid, type });
  }
  return found;
}

function statusKib(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

// CPU ticks of every thread of `pid`, with its name (comm): in the tab's renderer, "main"
// (the thread whose id is the process id) runs the page, "DedicatedWorker" the decryption
// worker, "ThreadPoolForeg" among others WebCrypto's work.
function threadTicks(pid) {
  const out = new Map();
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = Number(tid) === pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { comm, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // the thread ended
    }
  }
  return out;
}

function processTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // not ours to reset: the sampled VmRSS still counts
  }
}

// ---- the worker's heap through a browser-level CDP session ------------------------------------

async function workerHeapReader(browser, workerUrlPart) {
  const cdp = await browser.newBrowserCDPSession();
  const { targetInfos } = await cdp.send('Target.getTargets');
  const target = targetInfos.find((t) => t.type === 'worker' && t.url.includes(workerUrlPart));
  if (!target) throw new Error('the decryption worker is not running');
  // Not flattened: Playwright's CDP session cannot address a child session by id, so the
  // worker's protocol messages travel inside Target.sendMessageToTarget.
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false });
  const pending = new Map();
  let nextId = 1;
  cdp.on('Target.receivedMessageFromTarget', (event) => {
    if (event.sessionId !== sessionId) return;
    const message = JSON.parse(event.message);
    const resolve = pending.get(message.id);
    if (resolve) {
      pending.delete(message.id);
      resolve(message);
    }
  });
  return async () => {
    const id = nextId++;
    const answer = new Promise((resolve) => pending.set(id, resolve));
    await cdp.send('Target.sendMessageToTarget', {
      sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage', params: {} }),
    });
    const message = await answer;
    if (message.error) throw new Error(message.error.message);
    return message.result.usedSize;
  };
}

// ---- the CSV: records (quote-aware), distinct references --------------------------------------

function checkCsv(path) {
  const text = readFileSync(path, 'utf8');
  let records = 0;
  let inQuotes = false;
  let field = '';
  let fieldIndex = 0;
  const references = new Set();
  let header = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          if (fieldIndex === 0) field += '"';
          i++;
        } else {
          inQuotes = false;
        }
      } else if (fieldIndex === 0) {
        field += c;
      }
    } else if (c === '"') {
      inQuotes = true;
    } else if (c === ',') {
      if (fieldIndex === 0 && records > 0) references.add(field);
      fieldIndex++;
    } else if (c === '\n') {
      if (records === 0) header = field;
      records++;
      fieldIndex = 0;
      field = '';
    } else if (c !== '\r' && c !== '\uFEFF' && fieldIndex === 0) {
      field += c;
    }
  }
  if (field !== '' || fieldIndex !== 0) records++;  // a last line without CRLF
  return { rows: records - 1, distinctReferences: references.size, firstColumn: header };
}

// ---- the run ---------------------------------------------------------------------------------

async function main() {
  const result = { ok: false, expected };
  const { browser, context } = await launch();
  result.browser_version = browser.version();
  try {
    if (process.env.BENCH_WORKER_JS) {
      const replacement = readFileSync(process.env.BENCH_WORKER_JS);
      await context.route('**/portal/static/worker.js', (route) => route.fulfill({
        status: 200, contentType: 'text/javascript', body: replacement,
      }));
      result.worker_js = process.env.BENCH_WORKER_JS;
      log(`worker.js replaced by ${process.env.BENCH_WORKER_JS}`);
    }
    const page = await context.newPage();
    page.setDefaultTimeout(60 * 1000);
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') log(`console ${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => log(`page error: ${error.message}`));

    log('sign-in page');
    await page.goto(`${origin}/portal/sign-in`);
    await page.fill('#email', env('BENCH_EMAIL'));
    await page.fill('#password', env('BENCH_PASSWORD'));
    await page.click('#password-form button[type="submit"]');
    await page.waitForSelector('#code-form:not([hidden])');
    const { step, code } = await freshCode(env('BENCH_TOTP_SECRET'), Number(env('BENCH_TOTP_AFTER_STEP')));
    result.totp_step = step;
    await page.fill('#code', code);
    await page.click('#code-form button[type="submit"]');
    await page.waitForURL(`${origin}/portal/`);
    await page.waitForSelector('#forms-body tr');
    const listed = await page.textContent('#forms-body tr td.num:nth-of-type(3)');
    log(`signed in; the forms list shows ${listed.trim()} submissions`);

    await page.click('#forms-body tr button');
    await page.waitForSelector('#view-form:not([hidden])');
    await page.click('#unlock-open');
    await page.fill('#unlock-passphrase', env('BENCH_PASSPHRASE'));
    const t0Unlock = performance.now();
    await page.click('#unlock-submit');
    await page.waitForFunction(() => document.getElementById('key-state').textContent.includes('unlocked'));
    result.unlock_seconds = (performance.now() - t0Unlock) / 1000;
    log(`key unlocked in ${result.unlock_seconds.toFixed(2)} s`);
    if (!(await page.isChecked('#export-csv'))) throw new Error('CSV is not the selected format');

    // Sampling: the page's heap, the worker's heap, every process's RSS.
    const pageCdp = await context.newCDPSession(page);
    await pageCdp.send('Performance.enable');
    const workerHeap = await workerHeapReader(browser, '/portal/static/worker.js');
    let known = chromiumProcesses();
    for (const p of known) resetPeak(p.pid);
    const peaks = { page: 0, worker: 0, all: 0, byPid: new Map() };
    const samples = [];
    let sampling = true;
    let busy = false;
    const sample = async () => {
      if (busy) return;  // a sample still waits on a busy thread: skip this tick
      busy = true;
      try {
        const [metrics, workerUsed] = await Promise.all([
          pageCdp.send('Performance.getMetrics'),
          workerHeap().catch(() => 0),
        ]);
        const pageUsed = metrics.metrics.find((m) => m.name === 'JSHeapUsedSize').value;
        let all = 0;
        const rssByPid = {};
        // Processes come and go rarely; walking /proc costs more than reading a status.
        if (samples.length % 8 === 0) known = chromiumProcesses();
        for (const p of known) {
          const rss = statusKib(p.pid, 'VmRSS');
          all += rss;
          rssByPid[p.pid] = rss;
          const seen = peaks.byPid.get(p.pid) || { type: p.type, rss: 0, atClick: rss };
          seen.rss = Math.max(seen.rss, rss);
          peaks.byPid.set(p.pid, seen);
        }
        peaks.page = Math.max(peaks.page, pageUsed);
        peaks.worker = Math.max(peaks.worker, workerUsed);
        peaks.all = Math.max(peaks.all, all);
        samples.push({ t: performance.now(), pageUsed, workerUsed, all, rssByPid });
      } finally {
        busy = false;
      }
    };
    await sample();
    result.before = { page_heap: peaks.page, worker_heap: peaks.worker, all_rss_kib: peaks.all };
    const timer = setInterval(() => { if (sampling) sample(); }, sampleMs);

    // Progress, from the app's own status line.
    const progress = setInterval(async () => {
      try {
        log(`   ${(await page.textContent('#export-status')).trim()}`);
      } catch {
        // the page is busy; next time
      }
    }, 15000);

    log(`export: click (expecting ${expected} rows)`);
    const download = page.waitForEvent('download', { timeout: 6 * kHour });
    const cpuAtClick = new Map(known.map((p) => [p.pid, threadTicks(p.pid)]));
    const serverAtClick = serverPid ? processTicks(serverPid) : 0;
    const t0 = performance.now();
    await page.click('#export-start');
    const file = await download;
    const tBlob = performance.now();
    const path = await file.path();  // resolves once the file is complete
    const t1 = performance.now();
    const serverTicks = serverPid ? processTicks(serverPid) - serverAtClick : 0;
    // CPU per (process type, thread name) over the export, as % of one core.
    const cpu = new Map();
    for (const p of known) {
      const before = cpuAtClick.get(p.pid) || new Map();
      for (const [tid, now] of threadTicks(p.pid)) {
        const ticks = now.ticks - ((before.get(tid) || { ticks: 0 }).ticks);
        if (ticks <= 0) continue;
        const key = `${p.type === 'renderer' ? `renderer ${p.pid}` : p.type}/${now.comm}`;
        cpu.set(key, (cpu.get(key) || 0) + ticks);
      }
    }
    sampling = false;
    clearInterval(timer);
    clearInterval(progress);
    await sample().catch(() => {});

    result.seconds = (t1 - t0) / 1000;
    result.seconds_to_download_event = (tBlob - t0) / 1000;
    result.status = (await page.textContent('#export-status')).trim();
    result.alert = (await page.textContent('#export-alert')).trim();
    result.file_name = file.suggestedFilename();
    result.file_bytes = statSync(path).size;
    Object.assign(result, checkCsv(path));
    result.subs_per_s = result.rows / result.seconds;

    // Peaks: the kernel's VmHWM (since the reset before the click) and the sampled VmRSS.
    const hwm = [];
    for (const p of chromiumProcesses()) {
      const seen = peaks.byPid.get(p.pid) || { rss: 0, atClick: 0 };
      hwm.push({
        pid: p.pid, type: p.type, hwm_kib: Math.max(statusKib(p.pid, 'VmHWM'), seen.rss),
        sampled_kib: seen.rss, at_click_kib: seen.atClick,
      });
    }
    const renderers = hwm.filter((p) => p.type === 'renderer').sort((a, b) => b.hwm_kib - a.hwm_kib);
    result.processes = hwm;
    result.renderer_hwm_kib = renderers.length ? renderers[0].hwm_kib : 0;
    result.renderer_at_click_kib = renderers.length ? renderers[0].at_click_kib : 0;
    result.browser_hwm_kib = (hwm.find((p) => p.type === 'browser') || { hwm_kib: 0 }).hwm_kib;
    result.all_rss_peak_kib = peaks.all;
    result.page_heap_peak = peaks.page;
    result.worker_heap_peak = peaks.worker;
    result.samples = samples.length;
    const wall = result.seconds;
    result.cpu_pct = Object.fromEntries([...cpu.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)
      .map(([key, ticks]) => [key, Math.round((1000 * ticks) / clockTicks / wall) / 10]));
    const tab = renderers.length ? renderers[0].pid : 0;
    const threadPct = (name) => {
      const key = `renderer ${tab}/${name}`;
      return cpu.has(key) ? (100 * cpu.get(key)) / clockTicks / wall : 0;
    };
    result.worker_thread_cpu_pct = threadPct('DedicatedWorker');
    result.page_thread_cpu_pct = threadPct('main');
    result.server_cpu_pct = serverPid ? (100 * serverTicks) / clockTicks / wall : null;
    // The tab's RSS over the export, at each tenth of the samples.
    result.renderer_rss_trajectory_mib = [];
    for (let i = 0; i <= 10; i++) {
      const sampleAt = samples[Math.min(samples.length - 1, Math.round((i * (samples.length - 1)) / 10))];
      if (sampleAt && sampleAt.rssByPid[tab] !== undefined) {
        result.renderer_rss_trajectory_mib.push(Math.round(sampleAt.rssByPid[tab] / 1024));
      }
    }
    result.sample_ms = sampleMs;

    for (const p of hwm) {
      log(`   process ${p.pid} ${p.type}: RSS at click ${(p.at_click_kib / 1024).toFixed(0)} MiB, ` +
          `peak ${(p.hwm_kib / 1024).toFixed(0)} MiB (sampled ${(p.sampled_kib / 1024).toFixed(0)} MiB)`);
    }
    log(`   CPU over the export, % of one core: ${JSON.stringify(result.cpu_pct)}` +
        (serverPid ? `; sealpost ${result.server_cpu_pct.toFixed(0)} %` : ''));
    log(`   the tab's RSS (MiB) at each tenth of the export: ${result.renderer_rss_trajectory_mib.join(' ')}`);
    log(`done in ${result.seconds.toFixed(1)} s: ${result.rows} rows, ${result.file_bytes} bytes; ` +
        `status "${result.status}"${result.alert ? `; alert "${result.alert}"` : ''}`);
    const problems = [];
    if (result.rows !== expected) problems.push(`the CSV has ${result.rows} rows, expected ${expected}`);
    if (result.distinctReferences !== expected) {
      problems.push(`the CSV has ${result.distinctReferences} distinct references, expected ${expected}`);
    }
    if (result.alert) problems.push(`the app reported: ${result.alert}`);
    if (problems.length) throw new Error(problems.join('; '));
    result.ok = true;
  } catch (error) {
    result.error = String(error && error.stack ? error.stack : error);
    log(`FAILED: ${result.error}`);
  } finally {
    await browser.close();
  }
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exitCode = result.ok ? 0 : 1;
}

await main();
