// bench/portal: one staff member's CSV export of a whole form, in Chromium, against the real
// server, timed and with the browser's memory sampled. Run by bench/portal/bench.py, which
// passes everything in the environment:
//   SEALPOST_ORIGIN        https://localhost:PORT (the server's public origin)
//   BENCH_EMAIL, BENCH_PASSWORD, BENCH_TOTP_SECRET, BENCH_PASSPHRASE
//   BENCH_TOTP_AFTER_STEP  the last TOTP time step already spent (the server takes each once)
//   BENCH_EXPECTED_ROWS    N: the export must have exactly N rows with N distinct references
//   BENCH_SERVER_PID       sealpost's pid, for its CPU time over the export (optional)
//   BENCH_SAMPLE_MS        memory sampling period (default 250)
//   BENCH_DEVTOOLS_NETWORK =1: also enable the DevTools Network domain, as Playwright does
//                          (see "Chromium over a bare DevTools pipe" below for why not)
// Prints progress on stdout and, last, `RESULT {json}`; exits 1 if anything is off.
//
// What it does, as a person would, in Debian's Chromium (tests/browser's CHROMIUM, headless):
// the sign-in page (e-mail and password, then a TOTP code computed here), the intake form,
// unlock the key with its passphrase (openpgp.js in the app's worker), Export (CSV), until the
// download is complete. Timing runs from the click on Export to the finished file. Fields are
// filled and buttons clicked through the DOM (value, click()), which is what the app's
// handlers read. Memory, sampled every BENCH_SAMPLE_MS during the export:
//   - the page's JS heap (CDP Performance.getMetrics JSHeapUsedSize);
//   - the decryption worker's JS heap (CDP Runtime.getHeapUsage on the worker's session);
//   - every Chromium process's RSS from /proc (VmRSS sampled, and VmHWM, the kernel's exact
//     peak, reset just before the click). The tab's renderer is the renderer process with the
//     largest peak; the browser process is where Chromium keeps Blob data.
// CPU over the export per thread of each Chromium process (/proc/PID/task), and sealpost's.
// Trust: benchmark-only code; talks to a server on 127.0.0.1 that the benchmark started.
import { spawn } from 'node:child_process';
import {
  mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM, totp } from '../../tests/browser/lib.mjs';

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

// ---- Chromium over a bare DevTools pipe ----------------------------------------------------------
//
// Why not Playwright for this run: Playwright enables the DevTools Network domain on every
// page, and then Chromium's DevTools agent keeps a copy of every response body in the tab's
// renderer (up to its default buffer limit). An export of N submissions fetches about 1.4 KB
// of ciphertext JSON per submission, so under Playwright the tab grows by that much per
// submission, which a person's browser does not do. This driver enables only Page, Runtime,
// Performance and auto-attach (for the worker); BENCH_DEVTOOLS_NETWORK=1 enables Network too,
// to show the difference.

const kChromiumArgs = [
  // As tests/browser/lib.mjs launches it...
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // ...plus what Playwright adds so that a headless tab is not throttled.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  // The server's certificate is self-signed (127.0.0.1, started by the benchmark).
  '--ignore-certificate-errors',
  '--remote-debugging-pipe',
];

class Chromium {
  static async launch(profileDir) {
    const child = spawn(CHROMIUM, [...kChromiumArgs, `--user-data-dir=${profileDir}`, 'about:blank'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],  // fd 3: commands in, fd 4: answers out
    });
    child.stderr.resume();  // Chromium's own chatter
    const browser = new Chromium(child);
    let target;
    for (let tries = 0; !target; tries++) {  // the first tab may take a moment to appear
      if (tries > 100) throw new Error('Chromium opened no page');
      const { targetInfos } = await browser.send('Target.getTargets');
      target = targetInfos.find((t) => t.type === 'page');
      if (!target) await sleep(100);
    }
    const { sessionId } = await browser.send('Target.attachToTarget', { targetId: target.targetId, flatten: true });
    browser.page = sessionId;
    return browser;
  }

  constructor(child) {
    this.child = child;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = [];
    this.buffer = '';
    this.exited = new Promise((resolve) => child.on('exit', resolve));
    child.stdio[4].setEncoding('utf8');
    child.stdio[4].on('data', (chunk) => {
      this.buffer += chunk;
      let end;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        const message = JSON.parse(this.buffer.slice(0, end));
        this.buffer = this.buffer.slice(end + 1);
        if (message.id !== undefined) {
          const entry = this.pending.get(message.id);
          this.pending.delete(message.id);
          if (!entry) continue;
          if (message.error) entry.reject(new Error(`${entry.method}: ${message.error.message}`));
          else entry.resolve(message.result);
        } else {
          for (const listener of this.listeners) listener(message);
        }
      }
    });
  }

  // A command to the browser (sessionId undefined) or to an attached target.
  send(method, params = {}, sessionId = undefined) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.child.stdio[3].write(`${JSON.stringify({ id, method, params, sessionId })}\0`);
    });
  }

  on(listener) {
    this.listeners.push(listener);
  }

  // Evaluates `expression` in the page; returns its value (promises awaited).
  async evaluate(expression) {
    const answer = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, this.page);
    if (answer.exceptionDetails) {
      throw new Error(`in the page: ${answer.exceptionDetails.exception?.description || answer.exceptionDetails.text}`);
    }
    return answer.result.value;
  }

  // Waits until `expression` is truthy in the page (navigations in between are fine).
  async waitFor(expression, what, timeoutMs = 60 * 1000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const value = await this.evaluate(expression);
        if (value) return value;
      } catch {
        // the page is between documents
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  async fill(selector, value) {
    await this.evaluate(`document.querySelector(${JSON.stringify(selector)}).value = ${JSON.stringify(value)}, true`);
  }

  async click(selector) {
    await this.evaluate(`document.querySelector(${JSON.stringify(selector)}).click(), true`);
  }

  async close() {
    try {
      await Promise.race([this.send('Browser.close'), sleep(5000)]);
    } catch {
      // already gone
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
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
  const result = { ok: false, expected, driver: 'cdp-pipe' };
  const profileDir = mkdtempSync(join(tmpdir(), 'sealpost-bench-chromium-'));
  const downloadDir = join(profileDir, 'downloads');
  mkdirSync(downloadDir);
  const browser = await Chromium.launch(profileDir);
  try {
    result.browser_version = (await browser.send('Browser.getVersion')).product;
    const page = browser.page;
    const workers = new Map();  // sessionId -> url, of the page's workers
    const downloads = new Map();  // guid -> {state, receivedBytes, name}
    browser.on((message) => {
      const { method, params } = message;
      if (method === 'Target.attachedToTarget' && params.targetInfo.type === 'worker') {
        workers.set(params.sessionId, params.targetInfo.url);
      } else if (method === 'Target.detachedFromTarget') {
        workers.delete(params.sessionId);
      } else if (method === 'Browser.downloadWillBegin') {
        downloads.set(params.guid, { state: 'started', name: params.suggestedFilename });
      } else if (method === 'Browser.downloadProgress') {
        Object.assign(downloads.get(params.guid) || {}, { state: params.state, receivedBytes: params.receivedBytes });
      } else if (method === 'Runtime.consoleAPICalled' && ['error', 'warning'].includes(params.type)) {
        log(`console ${params.type}: ${params.args.map((a) => a.value ?? a.description).join(' ')}`);
      } else if (method === 'Runtime.exceptionThrown') {
        log(`page error: ${params.exceptionDetails.exception?.description || params.exceptionDetails.text}`);
      }
    });
    await browser.send('Page.enable', {}, page);
    await browser.send('Runtime.enable', {}, page);
    await browser.send('Performance.enable', {}, page);
    await browser.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: true }, page);
    if (process.env.BENCH_DEVTOOLS_NETWORK) {
      await browser.send('Network.enable', {}, page);  // what Playwright does: see above
      result.devtools_network = true;
      log('DevTools Network domain enabled on the page (as under Playwright)');
    }
    await browser.send('Browser.setDownloadBehavior', { behavior: 'allowAndName', downloadPath: downloadDir, eventsEnabled: true });

    log('sign-in page');
    await browser.send('Page.navigate', { url: `${origin}/portal/sign-in` }, page);
    await browser.waitFor(`!!document.querySelector('#password-form:not([hidden])')`, 'the sign-in form');
    await browser.fill('#email', env('BENCH_EMAIL'));
    await browser.fill('#password', env('BENCH_PASSWORD'));
    await browser.click('#password-form button[type="submit"]');
    await browser.waitFor(`!!document.querySelector('#code-form:not([hidden])')`, 'the code form');
    const { step, code } = await freshCode(env('BENCH_TOTP_SECRET'), Number(env('BENCH_TOTP_AFTER_STEP')));
    result.totp_step = step;
    await browser.fill('#code', code);
    await browser.click('#code-form button[type="submit"]');
    const listed = await browser.waitFor(
      `location.pathname === '/portal/' && document.querySelector('#forms-body tr td:nth-of-type(3)')?.textContent`,
      'the forms list');
    log(`signed in; the forms list shows ${listed.trim()} submissions`);

    await browser.click('#forms-body tr button');
    await browser.waitFor(`!document.getElementById('view-form').hidden`, 'the form view');
    await browser.click('#unlock-open');
    await browser.waitFor(`!document.getElementById('unlock-form').hidden`, 'the unlock form');
    await browser.fill('#unlock-passphrase', env('BENCH_PASSPHRASE'));
    const t0Unlock = performance.now();
    await browser.click('#unlock-submit');
    await browser.waitFor(`document.getElementById('key-state').textContent.includes('unlocked')`, 'the key to unlock');
    result.unlock_seconds = (performance.now() - t0Unlock) / 1000;
    log(`key unlocked in ${result.unlock_seconds.toFixed(2)} s`);
    if (!(await browser.evaluate(`document.getElementById('export-csv').checked`))) {
      throw new Error('CSV is not the selected format');
    }
    let workerSession;
    for (let tries = 0; !workerSession; tries++) {
      if (tries > 100) throw new Error('the decryption worker is not running');
      workerSession = [...workers].find(([, url]) => url.includes('/portal/static/worker.js'))?.[0];
      if (!workerSession) await sleep(100);
    }
    const workerHeap = async () => (await browser.send('Runtime.getHeapUsage', {}, workerSession)).usedSize;

    // Sampling: the page's heap, the worker's heap, every process's RSS.
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
          browser.send('Performance.getMetrics', {}, page),
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
        log(`   ${(await browser.evaluate(`document.getElementById('export-status').textContent`)).trim()}`);
      } catch {
        // the page is busy; next time
      }
    }, 15000);

    log(`export: click (expecting ${expected} rows)`);
    const cpuAtClick = new Map(known.map((p) => [p.pid, threadTicks(p.pid)]));
    const serverAtClick = serverPid ? processTicks(serverPid) : 0;
    const t0 = performance.now();
    await browser.click('#export-start');
    // The download: begun when the app hands its Blob to the browser, complete once on disk.
    let tBlob = 0;
    let done = null;
    for (const deadline = Date.now() + 6 * kHour; !done; await sleep(20)) {
      if (Date.now() > deadline) throw new Error('no finished download after 6 hours');
      if (!tBlob && downloads.size) tBlob = performance.now();
      done = [...downloads].find(([, d]) => d.state === 'completed' || d.state === 'canceled');
      if (!downloads.size && (await browser.evaluate(`document.getElementById('export-alert').textContent`))) {
        throw new Error(`the app reported: ${await browser.evaluate(`document.getElementById('export-alert').textContent`)}`);
      }
    }
    const t1 = performance.now();
    if (done[1].state !== 'completed') throw new Error('the download was cancelled');
    const path = join(downloadDir, done[0]);
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
    result.status = (await browser.evaluate(`document.getElementById('export-status').textContent`)).trim();
    result.alert = (await browser.evaluate(`document.getElementById('export-alert').textContent`)).trim();
    result.file_name = done[1].name;
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
    rmSync(profileDir, { recursive: true, force: true });
  }
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exitCode = result.ok ? 0 : 1;
}

await main();
