#!/usr/bin/env node
// Failover benchmark: the same kill-the-primary drill against Lifeboat and against Patroni
// (etcd + HAProxy, from Debian's packages), in one run, on the same machine.
//   node bench/failover/run.mjs [--runs 5] [--sync] [--settings lifeboat,patroni-default-crash,...]
//                               [--timeout 120] [--keep]
// Needs a build (npx tsc -p tsconfig.json) and, as root, apt-get install patroni etcd-server
// etcd-client haproxy tini. Progress goes to stderr; the JSON report and a Markdown table to
// stdout, and both to bench/failover/results/ (ignored by git). See README.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clearTimeout } from 'node:timers';
import { parseArgs } from 'node:util';
import { runPatroniDrill } from './patroni-drill.mjs';
import { HAPROXY_CHECK, REAPER, startEtcd, TIMERS, versions } from './patroni.mjs';
import { cleanupAll, keep, postmasterOnPort } from './processes.mjs';
import { markdownReport } from './report.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = (path) => import(join(root, 'dist', path));
const { runFailoverDrill } = await dist('drill/failover.js');
const { killPostgres } = await dist('drill/failover-host.js');
const { lostWrites } = await dist('drill/failover-measure.js');
const { startLoad, startWriter, writesTableSql } = await dist('drill/failover-writer.js');
const { query } = await dist('stores/postgres/sql.js');
const { freePort } = await dist('system/free-port.js');
const { stopAll } = await dist('system/instance.js');
const lifeboatParts = { query, killPostgres, startLoad, startWriter, writesTableSql, lostWrites };

// What a user gets without tuning anything: replication.detect_after at its default (3s),
// which lifeboat watch turns into a probe every second (1 s timeout), lost after 3 failures
// or 3 s without an answer (plan-topology.ts), and pgbouncer at its stock settings. The
// explicit lines are pgbouncer's documented defaults, written over the tuned ones that
// route-pgbouncer.ts starts it with (pgbouncer keeps the last value of a key).
const DETECT_DEFAULT = { pollMs: 1000, probeTimeoutMs: 1000, failures: 3, deadlineMs: 3000 };
const PGBOUNCER_STOCK = {
  poolMode: 'session',
  extraIni: ['server_login_retry = 15', 'server_connect_timeout = 15'],
};
const TUNED_PGBOUNCER =
  'pgbouncer tuned (transaction pooling, server_login_retry 0.1, server_connect_timeout 2)';

const SETTINGS = {
  lifeboat: {
    system: 'Lifeboat',
    setting: `tuned: drill defaults, probe every 200 ms, lost after 3 failures, lease 2 s; ${TUNED_PGBOUNCER}`,
    fault: 'crash: SIGKILL postmaster + children',
    lifeboatFault: 'crash',
  },
  // The same fault with nothing tuned: the figure a user gets from the plan's defaults.
  'lifeboat-stock': {
    system: 'Lifeboat',
    setting:
      'defaults a user gets: detect_after 3s (probe every 1 s, lost after 3 s); pgbouncer stock (session pooling, server_login_retry 15, server_connect_timeout 15)',
    fault: 'crash: SIGKILL postmaster + children',
    lifeboatFault: 'crash',
    drill: { ...DETECT_DEFAULT, pgbouncer: PGBOUNCER_STOCK },
  },
  // Not run by default: the default detector with pgbouncer tuned, to tell the detector's
  // share of lifeboat-stock from pgbouncer's. --settings lifeboat-detect-default,...
  'lifeboat-detect-default': {
    system: 'Lifeboat',
    setting: `detect_after 3s (default: probe every 1 s, lost after 3 s); ${TUNED_PGBOUNCER}`,
    fault: 'crash: SIGKILL postmaster + children',
    lifeboatFault: 'crash',
    drill: DETECT_DEFAULT,
  },
  // Lifeboat told to restart a crashed primary in place first, as Patroni does: the
  // like-for-like counterpart of Patroni's crash behaviour.
  'lifeboat-restart': {
    system: 'Lifeboat',
    setting: `tuned: drill defaults, restartInPlace: true; ${TUNED_PGBOUNCER}`,
    fault: 'crash: SIGKILL postmaster + children',
    lifeboatFault: 'crash',
    restartInPlace: true,
  },
  // Not run by default: the drill's host loss (network silent, processes killed, data dir
  // gone), the closest Lifeboat has to the Patroni node kill. --settings lifeboat-host,...
  'lifeboat-host': {
    system: 'Lifeboat',
    setting: `tuned: drill defaults, probe every 200 ms, lost after 3 failures, lease 2 s; ${TUNED_PGBOUNCER}`,
    fault: 'host: network cut, SIGKILL postmaster + children, data dir gone',
    lifeboatFault: 'host',
  },
  'patroni-default-crash': patroni('default', 'crash'),
  'patroni-default-node': patroni('default', 'node'),
  'patroni-fast-crash': patroni('fast', 'crash'),
  'patroni-fast-node': patroni('fast', 'node'),
};

/** Settings run only when --settings names them. */
const OPTIONAL = new Set(['lifeboat-host', 'lifeboat-detect-default']);

function patroni(timers, fault) {
  const t = TIMERS[timers];
  return {
    system: 'Patroni',
    timers,
    setting: `${timers} timers: ttl ${t.ttl}, loop_wait ${t.loop_wait}, retry_timeout ${t.retry_timeout}; HAProxy ${HAPROXY_CHECK}`,
    fault:
      fault === 'crash'
        ? 'crash: SIGKILL postmaster + children'
        : 'node: SIGKILL Patroni + postmaster + children',
    patroniFault: fault,
  };
}

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    sync: { type: 'boolean', default: false },
    settings: {
      type: 'string',
      default: Object.keys(SETTINGS)
        .filter((id) => !OPTIONAL.has(id))
        .join(','),
    },
    timeout: { type: 'string', default: '120' },
    keep: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs: a whole number of 1 or more, not "${values.runs}"`);
const sync = values.sync;
const recoverTimeoutMs = Number(values.timeout) * 1000;
const chosen = values.settings.split(',').map((s) => s.trim());
for (const id of chosen)
  if (!SETTINGS[id])
    throw new Error(`--settings: unknown "${id}" (known: ${Object.keys(SETTINGS).join(', ')})`);
keep.dirs = values.keep;

const log = (text) => process.stderr.write(`bench: ${text}\n`);
if (!REAPER && chosen.some((id) => id.startsWith('patroni')))
  log(
    'warning: no tini (apt-get install tini): a killed postmaster may stay a zombie and slow Patroni (README.md)',
  );

// Ctrl-C or a kill: stop Lifeboat's sandbox instances and the bench's own processes, once.
let interrupted = false;
for (const name of ['SIGINT', 'SIGTERM']) {
  process.on(name, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${name}: cleaning up`);
    const hardStop = setTimeout(() => process.exit(130), 15_000);
    // Lifeboat's registry removes a standby's temp dir before it stops the standby's
    // PostgreSQL (both registered, stopped at once), which then keeps running: stop the
    // drill's servers by port first. SIGQUIT is PostgreSQL's immediate shutdown.
    for (const port of lifeboatPorts) {
      const pid = postmasterOnPort(port, join(tmpdir(), 'lifeboat-'));
      if (pid) process.kill(pid, 'SIGQUIT');
    }
    stopAll()
      .catch(() => undefined)
      .finally(() => {
        cleanupAll();
        clearTimeout(hardStop);
        process.exit(130);
      });
  });
}

/** The ports of the PostgreSQL servers of the Lifeboat drill now running (from its progress line). */
const lifeboatPorts = new Set();

async function lifeboatRun({ lifeboatFault: fault, restartInPlace = false, drill = {} }) {
  const onProgress = (line) => {
    log(`  ${line}`);
    if (line.startsWith('primary :'))
      for (const [, port] of line.matchAll(/:(\d+)/g)) lifeboatPorts.add(Number(port));
  };
  // As for Patroni (patroni-drill.mjs), the fault lands at a random phase of the detector's
  // cycle: the drill's 1.5 s warm-up plus up to one probe interval (200 ms unless set).
  const phaseDelayMs = Math.random() * (drill.pollMs ?? 200);
  const result = await runFailoverDrill({
    sandbox: true,
    sync,
    fault,
    restartInPlace,
    ...drill,
    warmupMs: 1500 + phaseDelayMs,
    onProgress,
  }).finally(() => lifeboatPorts.clear());
  return {
    rto_seconds: result.rto_seconds,
    fault_phase_delay_seconds: round(phaseDelayMs / 1000),
    outcome: result.outcome === 'failed-over' ? 'failed over' : 'restarted in place',
    acknowledged_writes: result.acknowledged_writes,
    lost_writes: result.lost_writes,
    lost_ids: result.lost_ids,
    // As primary_back_seconds for Patroni: a primary takes writes again (failed over:
    // detect + decide + fence + promote; restarted: detect + restart); the rest of the RTO
    // is routing pgbouncer and the writer's reconnect.
    primary_back_seconds: round(
      Math.min(result.rto_seconds, result.rto_seconds - result.route_seconds - result.reconnect_seconds),
    ),
    detect_seconds: result.detect_seconds,
    fence_seconds: result.fence_seconds,
    promote_seconds: result.promote_seconds,
    route_seconds: result.route_seconds,
    reconnect_seconds: result.reconnect_seconds,
    fenced: result.fenced,
  };
}

let etcd;
async function patroniRun(id, index) {
  const setting = SETTINGS[id];
  etcd ??= await startEtcd(freePort);
  return runPatroniDrill(lifeboatParts, {
    etcdPort: etcd.port,
    freePort,
    timers: TIMERS[setting.timers],
    sync,
    fault: setting.patroniFault,
    scope: `${id}-${index}-${Date.now()}`,
    recoverTimeoutMs,
    progress: (line) => log(`  ${line}`),
  });
}

const startedAt = new Date();
const loadBefore = loadavg();
const results = Object.fromEntries(chosen.map((id) => [id, []]));
try {
  // Round robin, not one setting after another: the machine's load drifts (other work runs
  // on it), and interleaving spreads that drift over every setting alike.
  for (let i = 0; i < runs; i++) {
    for (const id of chosen) {
      log(`${id}, run ${i + 1}/${runs}${sync ? ' (sync)' : ' (async)'}`);
      const run = await (SETTINGS[id].lifeboatFault ? lifeboatRun(SETTINGS[id]) : patroniRun(id, i)).catch(
        (error) => ({
          rto_seconds: null,
          lost_writes: null,
          error: error.message,
        }),
      );
      log(
        `  -> RTO ${run.rto_seconds ?? 'FAILED'} s, lost ${run.lost_writes ?? '?'}${run.outcome ? `, ${run.outcome}` : ''}${run.error ? `: ${run.error}` : ''}`,
      );
      results[id].push(run);
    }
  }
} finally {
  etcd?.stop();
  cleanupAll();
}

const report = buildReport();
const markdown = markdownReport(report);
const resultsDir = join(root, 'bench', 'failover', 'results');
mkdirSync(resultsDir, { recursive: true });
const stamp = startedAt.toISOString().replace(/[:]/g, '-');
// Formatted as the repository's `prettier --check .` wants it, when prettier is installed.
const jsonFile = join(resultsDir, `${stamp}.json`);
const json = `${JSON.stringify(report, null, 2)}\n`;
const prettier = await import('prettier').catch(() => undefined);
const formatted = await Promise.resolve(prettier?.resolveConfig(jsonFile))
  .then((config) => (prettier ? prettier.format(json, { ...config, filepath: jsonFile }) : json))
  .catch(() => json);
writeFileSync(jsonFile, formatted);
writeFileSync(join(resultsDir, `${stamp}.md`), markdown);
process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n${markdown}`);

function buildReport() {
  const settings = chosen.map((id) => {
    const list = results[id];
    const rtos = list.map((r) => r.rto_seconds).filter((x) => x !== null);
    const backs = list.map((r) => r.primary_back_seconds).filter((x) => x !== null && x !== undefined);
    return {
      id,
      ...SETTINGS[id],
      median_rto_seconds: rtos.length ? median(rtos) : null,
      median_primary_back_seconds: backs.length ? median(backs) : null,
      rto_seconds: list.map((r) => r.rto_seconds),
      lost_writes: list.map((r) => r.lost_writes),
      outcomes: list.map((r) => r.outcome ?? 'error'),
      failed_runs: list.length - rtos.length,
      runs: list,
    };
  });
  const ratios = {};
  for (const lifeboat of settings.filter((s) => s.system === 'Lifeboat'))
    for (const other of settings.filter((s) => s.system === 'Patroni'))
      if (lifeboat.median_rto_seconds && other.median_rto_seconds)
        ratios[`${lifeboat.id} / ${other.id}`] = round(
          lifeboat.median_rto_seconds / other.median_rto_seconds,
        );
  return {
    date: startedAt.toISOString(),
    command: `node bench/failover/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    sync,
    runs_per_setting: runs,
    recover_timeout_seconds: recoverTimeoutMs / 1000,
    goal: 'lifeboat median RTO / patroni default median RTO <= 1/3',
    ratios,
    settings: settings.map(
      ({
        patroniFault: _fault,
        lifeboatFault: _lifeboatFault,
        restartInPlace: _restart,
        drill: _drill,
        timers: _timers,
        ...rest
      }) => rest,
    ),
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memory_gib: round(totalmem() / 2 ** 30),
      kernel: release(),
      load_average_before: loadBefore.map(round),
      load_average_after: loadavg().map(round),
    },
    versions: { node: process.version, lifeboat: lifeboatVersion(), ...versions() },
  };
}

function lifeboatVersion() {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  try {
    const commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
    const dirty =
      execFileSync('git', ['-C', root, 'status', '--porcelain'], { encoding: 'utf8' }).trim() !== '';
    return `${version} (${commit}${dirty ? ', uncommitted changes' : ''})`;
  } catch {
    return version;
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : round((sorted[mid - 1] + sorted[mid]) / 2);
}

function round(x) {
  return Math.round(x * 1000) / 1000;
}
