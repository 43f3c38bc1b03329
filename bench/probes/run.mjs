// Probe engine benchmark (on demand, not in CI): N HTTP probes every 10 s against a local HTTP
// server (in a child process, so that its CPU is not counted), first as a bare loop of requests
// (the baseline), then through Lifeboat's runner and recorder into a throwaway SQLite store.
// Reports checks on time, CPU share of one core, peak RSS and the store's growth per day.
//   node bench/probes/run.mjs [--probes 1000] [--minutes 2] [--interval 10]
// Run `npm run build` first.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import http from 'node:http';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setInterval, clearInterval, setTimeout, clearTimeout } from 'node:timers';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const PROBES = option('probes', 1000);
const MINUTES = option('minutes', 2);
const INTERVAL_MS = option('interval', 10) * 1000;
const ON_TIME_MS = 1000; // a check is on time when it starts within 1 s of its slot
const dist = new URL('../../dist/', import.meta.url);
const { httpProbe } = await import(new URL('probes/http.js', dist).href);
const { startProbes } = await import(new URL('probes/runner.js', dist).href);
const { startProbeRecorder } = await import(new URL('probes/recorder.js', dist).href);
const { openStateStore } = await import(new URL('state/store.js', dist).href);

const server = spawn(
  process.execPath,
  [
    '-e',
    `require('http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log(this.address().port) })`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const [portLine] = await once(server.stdout, 'data');
const url = `http://127.0.0.1:${String(portLine).trim()}/health`;

async function measure(name, start) {
  const durationMs = MINUTES * 60_000;
  const lates = [];
  let failures = 0;
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 1000);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const stop = await start((lateMs, ok) => {
    lates.push(lateMs);
    if (!ok) failures++;
  });
  await new Promise((r) => setTimeout(r, durationMs));
  await stop();
  clearInterval(sampler);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  lates.sort((a, b) => a - b);
  const expected = Math.floor((PROBES * durationMs) / INTERVAL_MS);
  const onTime = lates.filter((l) => l <= ON_TIME_MS).length;
  return {
    name,
    checks: lates.length,
    expected,
    onTimeShare: onTime / Math.max(lates.length, 1),
    p99LateMs: lates[Math.floor(lates.length * 0.99)] ?? 0,
    failures,
    cpuShareOfOneCore: (cpu.user + cpu.system) / 1000 / wallMs,
    peakRssMb: peakRss / 1048576,
  };
}

// Baseline: per-probe timers and plain http.get, nothing recorded.
const baseline = await measure('bare http.get loop', async (seen) => {
  const timers = [];
  let stopped = false;
  for (let i = 0; i < PROBES; i++) {
    let due = performance.now() + Math.random() * INTERVAL_MS;
    const tick = () => {
      const late = performance.now() - due;
      http
        .get(url, { agent: false }, (res) => {
          res.resume();
          res.on('end', () => seen(late, res.statusCode === 200));
        })
        .on('error', () => seen(late, false));
      due += INTERVAL_MS;
      if (!stopped) timers[i] = setTimeout(tick, Math.max(0, due - performance.now()));
    };
    timers[i] = setTimeout(tick, Math.max(0, due - performance.now()));
  }
  return async () => {
    stopped = true;
    timers.forEach(clearTimeout);
  };
});

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-bench-probes-'));
const dbPath = join(dir, 'state.db');
const store = await openStateStore({ path: dbPath, env: {} });
const size = () =>
  ['', '-wal'].reduce((n, s) => n + (existsSync(dbPath + s) ? statSync(dbPath + s).size : 0), 0);
const sizeBefore = size();
const lifeboat = await measure('Lifeboat runner + recorder', async (seen) => {
  const recorder = startProbeRecorder(store.probes);
  const probes = Array.from({ length: PROBES }, (_, i) => ({
    probe: httpProbe(`web-${i}`, { type: 'http', url }, { planDir: dir }),
    intervalMs: INTERVAL_MS,
    timeoutMs: 5000,
    failures: 3,
    successes: 2,
  }));
  const runner = startProbes(probes, {
    onCheck: (check) => {
      seen(check.lateMs, check.ok);
      recorder.record(check);
    },
  });
  return async () => {
    await runner.stop();
    await recorder.stop();
  };
});
const rawBytes = size() - sizeBefore;
const rows = lifeboat.checks;
const perDay = (bytes) => (bytes / (MINUTES * 60_000)) * 86_400_000;
// Steady state: raw rows are deleted after a day and minute rows after two, so what a day
// adds for good is its hour rows; measure one hour row's size by rolling what was written.
await store.probes.compact(Date.now() + 3 * 3_600_000, { settleMs: 0 });
await store.close();
const hourRowsPerDay = PROBES * 24;
const bytesPerRawRow = rawBytes / Math.max(rows, 1);
server.kill();
rmSync(dir, { recursive: true, force: true });

const mb = (n) => (n / 1048576).toFixed(1);
const report = {
  date: new Date().toISOString(),
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`,
  probes: PROBES,
  intervalS: INTERVAL_MS / 1000,
  minutesEach: MINUTES,
  results: [baseline, lifeboat].map((r) => ({
    ...r,
    onTimePercent: +(r.onTimeShare * 100).toFixed(2),
    cpuPercentOfOneCore: +(r.cpuShareOfOneCore * 100).toFixed(1),
    peakRssMb: +r.peakRssMb.toFixed(0),
  })),
  store: {
    rawBytesWritten: rawBytes,
    bytesPerRawCheck: +bytesPerRawRow.toFixed(1),
    rawWrittenPerDayMb: +mb(perDay(rawBytes)),
    // An estimate, not a measurement: about 90 bytes per hour row with its two index entries.
    steadyStateGrowthPerDayMbEstimated: +mb(hourRowsPerDay * 90),
  },
};
console.log(JSON.stringify(report, null, 2));
