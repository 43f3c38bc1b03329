// Measures the two embedded candidates for Lifeboat's state store, SQLite (better-sqlite3)
// and PGlite, and a local PostgreSQL server for reference when one answers:
//   - cold open: a fresh Node process loads the driver, opens an existing database and
//     runs its first query (what every `lifeboat` command pays before it does anything);
//   - write latency: one single-row INSERT in its own transaction, repeated.
// Usage: node bench/state-store/run.mjs [--writes 500] [--opens 7] [--json]
// Results are written to bench/state-store/results/ (ignored by git) and printed.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const here = dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);

const CREATE = `CREATE TABLE IF NOT EXISTS audit_log (
  id TEXT PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  target TEXT, details TEXT, outcome TEXT NOT NULL)`;
const FIRST_QUERY = 'SELECT count(*) AS n FROM audit_log';

function row() {
  return [randomUUID(), new Date().toISOString(), 'bench', 'write', 'dataset:users', '{"n":1}', 'ok'];
}

// ---- child-process modes: one cold open each -------------------------------------------

async function openSqlite(file) {
  const t0 = performance.now();
  const { default: Database } = await import('better-sqlite3');
  const t1 = performance.now();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  db.prepare(FIRST_QUERY).get();
  const t2 = performance.now();
  db.close();
  return { importMs: t1 - t0, openMs: t2 - t1, totalMs: t2 - t0 };
}

async function openPglite(dir) {
  const t0 = performance.now();
  const { PGlite } = await import('@electric-sql/pglite');
  const t1 = performance.now();
  const db = new PGlite(dir);
  await db.query(FIRST_QUERY);
  const t2 = performance.now();
  await db.close();
  return { importMs: t1 - t0, openMs: t2 - t1, totalMs: t2 - t0 };
}

async function openPostgres(url) {
  const t0 = performance.now();
  const { default: pg } = await import('pg');
  const t1 = performance.now();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(FIRST_QUERY);
  const t2 = performance.now();
  await client.end();
  return { importMs: t1 - t0, openMs: t2 - t1, totalMs: t2 - t0 };
}

// ---- in-process write latency ------------------------------------------------------------

async function timeWrites(n, writeOne) {
  for (let i = 0; i < 20; i++) await writeOne(); // warm-up: statement caches, file growth
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await writeOne();
    samples.push(performance.now() - t);
  }
  return summarize(samples);
}

async function writesSqlite(file, n, synchronous) {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  const insert = db.prepare('INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?)');
  // BEGIN IMMEDIATE, like the store's writes: one row, one transaction, one commit.
  const tx = db.transaction((values) => insert.run(values));
  const result = await timeWrites(n, () => tx.immediate(row()));
  db.close();
  return result;
}

async function writesPglite(dir, n) {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite(dir);
  await db.waitReady;
  const sql = 'INSERT INTO audit_log VALUES ($1, $2, $3, $4, $5, $6, $7)';
  const result = await timeWrites(n, () => db.transaction((tx) => tx.query(sql, row())));
  await db.close();
  return result;
}

async function writesPostgres(url, n) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const sql = 'INSERT INTO audit_log VALUES ($1, $2, $3, $4, $5, $6, $7)';
  const result = await timeWrites(n, async () => {
    await client.query('BEGIN');
    await client.query(sql, row());
    await client.query('COMMIT');
  });
  await client.end();
  return result;
}

// ---- helpers -------------------------------------------------------------------------------

function percentile(sorted, p) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (x) => Math.round(x * 1000) / 1000;
  return {
    n: sorted.length,
    medianMs: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    maxMs: round(sorted[sorted.length - 1]),
  };
}

function coldOpens(mode, target, times) {
  const runs = [];
  for (let i = 0; i < times; i++) {
    const child = spawnSync(process.execPath, [self, mode, target], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`${mode} failed: ${child.stderr}`);
    runs.push(JSON.parse(child.stdout));
  }
  const pick = (key) => summarize(runs.map((r) => r[key]));
  return { importMs: pick('importMs').medianMs, openMs: pick('openMs'), totalMs: pick('totalMs') };
}

/** Bytes on disk of a file or a directory tree. */
function diskBytes(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + diskBytes(join(path, name)), 0);
}

function versions() {
  const of = (name) =>
    JSON.parse(readFileSync(join(here, '../../node_modules', name, 'package.json'), 'utf8')).version;
  return {
    'better-sqlite3': of('better-sqlite3'),
    '@electric-sql/pglite': of('@electric-sql/pglite'),
    pg: of('pg'),
  };
}

function argValue(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

async function postgresUrl() {
  const admin = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
  } catch {
    return undefined;
  }
  const name = `lifeboat_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const drop = async () => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name}`);
    await c.end();
  };
  return { url: url.toString(), drop };
}

async function main() {
  const writes = argValue('writes', 500);
  const opens = argValue('opens', 7);
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-'));
  const sqliteFile = join(work, 'state.db');
  const pgliteDir = join(work, 'pglite');
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    versions: versions(),
    writes,
    opens,
  };
  try {
    // Create both databases first, so that every open below is of an existing one.
    {
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(sqliteFile);
      db.pragma('journal_mode = WAL');
      db.exec(CREATE);
      db.close();
      const { PGlite } = await import('@electric-sql/pglite');
      const t = performance.now();
      const lite = new PGlite(pgliteDir);
      await lite.exec(CREATE);
      await lite.close();
      results.pgliteCreateMs = Math.round(performance.now() - t);
      // The SQLite library inside better-sqlite3, not the system's.
      const probe = new Database(':memory:');
      results.versions.sqlite = probe.prepare('SELECT sqlite_version() AS v').get().v;
      probe.close();
    }
    results.sqlite = {
      coldOpen: coldOpens('open-sqlite', sqliteFile, opens),
      writesSyncNormal: await writesSqlite(sqliteFile, writes, 'NORMAL'),
      writesSyncFull: await writesSqlite(sqliteFile, writes, 'FULL'),
    };
    results.pglite = {
      coldOpen: coldOpens('open-pglite', pgliteDir, opens),
      writes: await writesPglite(pgliteDir, writes),
    };
    // After 2 × writes (+ warm-ups) rows in SQLite and writes rows in PGlite: mostly fixed cost.
    results.sqlite.diskBytes = ['', '-wal', '-shm'].reduce(
      (sum, suffix) => sum + diskBytes(sqliteFile + suffix),
      0,
    );
    results.pglite.diskBytes = diskBytes(pgliteDir);
    const server = await postgresUrl();
    if (server) {
      try {
        const { default: pg } = await import('pg');
        const c = new pg.Client({ connectionString: server.url });
        await c.connect();
        await c.query(CREATE);
        await c.end();
        results.postgres = {
          coldOpen: coldOpens('open-postgres', server.url, opens),
          writes: await writesPostgres(server.url, writes),
        };
      } finally {
        await server.drop();
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  mkdirSync(join(here, 'results'), { recursive: true });
  const out = join(here, 'results', `${results.date.replaceAll(':', '-')}.json`);
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  printTable(results);
  const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  console.log(`\non disk: sqlite ${mb(results.sqlite.diskBytes)}, pglite ${mb(results.pglite.diskBytes)}`);
  console.log(`creating the PGlite database (initdb) took ${results.pgliteCreateMs} ms`);
  console.log(`full results: ${out}`);
}

function printTable(r) {
  console.log(`${r.date}  ${r.machine.cpus} cores  ${r.machine.model}  node ${r.machine.node}`);
  console.log(
    Object.entries(r.versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(', '),
  );
  console.log(
    `cold open = new process: import driver + open existing database + first query (median of ${r.opens})`,
  );
  console.log(`writes = single-row INSERT in its own transaction, n=${r.writes}\n`);
  const lines = [
    ['backend', 'import ms', 'open+1st query ms', 'total ms', 'write median ms', 'write p95 ms'],
  ];
  const add = (name, open, w) =>
    lines.push([
      name,
      open ? open.importMs.toFixed(1) : '',
      open ? open.openMs.medianMs.toFixed(1) : '',
      open ? open.totalMs.medianMs.toFixed(1) : '',
      w.medianMs.toFixed(3),
      w.p95Ms.toFixed(3),
    ]);
  add('sqlite (synchronous=NORMAL)', r.sqlite.coldOpen, r.sqlite.writesSyncNormal);
  add('sqlite (synchronous=FULL)', undefined, r.sqlite.writesSyncFull);
  add('pglite', r.pglite.coldOpen, r.pglite.writes);
  if (r.postgres) add('postgresql server (reference)', r.postgres.coldOpen, r.postgres.writes);
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  for (const l of lines)
    console.log(l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
}

const [mode, target] = process.argv.slice(2);
const modes = { 'open-sqlite': openSqlite, 'open-pglite': openPglite, 'open-postgres': openPostgres };
if (mode && modes[mode]) {
  console.log(JSON.stringify(await modes[mode](target)));
} else {
  await main();
}
