#!/usr/bin/env node
// Backup benchmark: Lifeboat against the plain tools, in the same run, on the same database.
//   node bench/backup/run.mjs [--scale 50] [--restores 3] [--keep]
// Needs a build (npm run build). Prints a JSON report and a Markdown table for bench/README.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '50' },
    restores: { type: 'string', default: '3' },
    keep: { type: 'boolean' },
  },
});
const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'lifeboat.js');
const rssPreload = join(root, 'bench', 'backup', 'rss.mjs');
const { startPostgres } = await import(join(root, 'dist', 'stores', 'postgres', 'sandbox.js'));

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-bench-backup-'));
const log = (text) => process.stderr.write(`bench: ${text}\n`);

// Every timed step starts from a checkpoint and a flushed page cache: each restore writes
// hundreds of MiB of table and WAL, and a checkpoint that max_wal_size forces, or the kernel
// writing them back, in the middle of a later step would be charged to it.
let settle = () => {};

function timed(label, command, args, options = {}) {
  settle();
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${label} failed (${result.status}): ${result.stderr}`);
  log(`${label}: ${seconds.toFixed(2)} s`);
  return { seconds, stdout: result.stdout };
}

function lifeboat(label, args) {
  const rssFile = join(dir, `${label}.rss`);
  const run = timed(
    label,
    process.execPath,
    ['--import', rssPreload, bin, ...args, '--plan', join(dir, 'lifeboat.yaml'), '--json'],
    {
      env: { ...process.env, LIFEBOAT_BENCH_RSS_FILE: rssFile },
    },
  );
  return { ...run, peakRss: Number(readFileSync(rssFile, 'utf8')), result: JSON.parse(run.stdout) };
}

const pg = await startPostgres({
  fast: true,
  extraConf: { max_wal_size: '2GB', checkpoint_timeout: '30min' },
});
// The server's password reaches the tools through the environment, never their arguments
// (which `ps` shows); the plan names the variable.
process.env.PGPASSWORD = decodeURIComponent(new URL(pg.url).password);
process.env.BENCH_DB_URL = pg.urlFor('bench');
const dbUrl = (database) => {
  const url = new URL(pg.urlFor(database));
  url.password = '';
  return url.toString();
};
settle = () => {
  execFileSync('psql', ['-X', '-q', '-c', 'CHECKPOINT', dbUrl('postgres')]);
  execFileSync('sync');
};
try {
  log(`pgbench -i -s ${values.scale} on a throwaway PostgreSQL (port ${pg.port})`);
  await pg.psql('CREATE DATABASE bench');
  execFileSync('pgbench', ['-i', '-q', '-s', values.scale, dbUrl('bench')], { stdio: 'ignore' });
  const dbBytes = Number((await pg.psql("SELECT pg_database_size('bench')"))[0][0]);

  // Baseline: the plain tools into and out of a local file.
  const dumpFile = join(dir, 'bench.dump');
  const pgDump = timed('pg_dump -Fc', 'pg_dump', ['-Fc', '-f', dumpFile, dbUrl('bench')]);
  const dumpBytes = statSync(dumpFile).size;

  // The tool chain alone: what Lifeboat drives, without Lifeboat, into a repository that exists.
  const plainRepo = join(dir, 'plain-repository');
  const resticEnv = { ...process.env, RESTIC_REPOSITORY: plainRepo, RESTIC_PASSWORD: 'bench' };
  timed('restic init', 'restic', ['init', '-q'], { env: resticEnv });
  const chain = timed(
    'pg_dump -Fc -Z0 | restic backup --stdin',
    'sh',
    ['-c', `pg_dump -Fc -Z0 -d "$DB" | restic backup -q --stdin --stdin-filename bench.dump`],
    { env: { ...resticEnv, DB: dbUrl('bench') } },
  );

  // A tiny dataset backed up first creates Lifeboat's repository (restic init calibrates its
  // key derivation, once per repository), so that the database's backup is timed alone.
  const seed = join(dir, 'seed');
  mkdirSync(seed);
  writeFileSync(join(seed, 'a.txt'), 'seed\n');
  writeFileSync(
    join(dir, 'lifeboat.yaml'),
    `version: 1\norganization: Bench\ndatasets:\n  bench:\n    rpo: 1h\n    source: { type: postgres, url: "env:BENCH_DB_URL", databases: [bench] }\n    backup: { every: 15m }\n  seed:\n    rpo: 1h\n    source: { type: files, paths: ["${seed}"] }\n    backup: { every: 15m }\n`,
  );
  const creation = lifeboat('lifeboat backup (creates the repository)', ['backup', 'seed']);
  const first = lifeboat('lifeboat backup', ['backup', 'bench']);
  const firstAdded = first.result.results[0].bytesAdded;

  // Dedup: 1 % more rows, then a second backup.
  await pg.psql(
    `INSERT INTO pgbench_accounts (aid, bid, abalance, filler) SELECT aid + 100000 * ${values.scale}, 1, 0, '' FROM pgbench_accounts WHERE aid <= 1000 * ${values.scale}`,
    'bench',
  );
  const second = lifeboat('lifeboat backup (+1 % rows)', ['backup', 'bench']);
  const secondAdded = second.result.results[0].bytesAdded;

  // Restores: the same data both ways (the database as of the second backup), taken in turns,
  // several times, as one restore's time varies by a third from run to run on this machine.
  const currentDump = join(dir, 'bench-current.dump');
  execFileSync('pg_dump', ['-Fc', '-f', currentDump, dbUrl('bench')]);
  const pgRestores = [];
  const chainRestores = [];
  const restores = [];
  // The tool chain alone, on Lifeboat's own snapshot of the database.
  const dumpUnit = second.result.results[0].units.find((u) => u.filename === 'postgres/bench.dump');
  const chainRestore = async (i) => {
    await pg.psql('CREATE DATABASE chain_restore');
    chainRestores.push(
      timed(
        `restic dump | pg_restore (${i})`,
        'sh',
        ['-c', 'restic dump "$SNAPSHOT" "/$FILE" | pg_restore -d "$DB"'],
        {
          env: {
            ...process.env,
            RESTIC_REPOSITORY: join(dir, '.lifeboat', 'repository'),
            RESTIC_PASSWORD_FILE: join(dir, '.lifeboat', 'repository.key'),
            SNAPSHOT: dumpUnit.snapshotId,
            FILE: dumpUnit.stored,
            DB: dbUrl('chain_restore'),
          },
        },
      ),
    );
    await pg.psql('DROP DATABASE chain_restore');
  };
  const baselineRestore = async (i) => {
    await pg.psql('CREATE DATABASE baseline_restore');
    pgRestores.push(timed(`pg_restore (${i})`, 'pg_restore', ['-d', dbUrl('baseline_restore'), currentDump]));
    await pg.psql('DROP DATABASE baseline_restore');
  };
  const lifeboatRestore = async (i) => {
    restores.push(
      lifeboat(`lifeboat restore (${i})`, ['restore', 'bench', '--to', dbUrl('lifeboat_restore')]),
    );
    await pg.psql('DROP DATABASE lifeboat_restore');
  };
  for (let i = 1; i <= Number(values.restores); i++) {
    const order = [baselineRestore, chainRestore, lifeboatRestore];
    for (const run of i % 2 === 1 ? order : order.reverse()) await run(i);
  }
  const median = (runs) => {
    const sorted = runs.map((r) => r.seconds).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  };
  const pgRestore = { seconds: median(pgRestores), runs: pgRestores.map((r) => r.seconds) };
  const chainRestoreRun = { seconds: median(chainRestores), runs: chainRestores.map((r) => r.seconds) };
  const restore = {
    seconds: median(restores),
    runs: restores.map((r) => r.seconds),
    peakRss: Math.max(...restores.map((r) => r.peakRss)),
  };

  const report = {
    machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    date: new Date().toISOString().slice(0, 10),
    scale: Number(values.scale),
    databaseBytes: dbBytes,
    baseline: {
      pgDumpSeconds: pgDump.seconds,
      pgRestoreSeconds: pgRestore.seconds,
      pgRestoreRuns: pgRestore.runs,
      restoreToolChainSeconds: chainRestoreRun.seconds,
      restoreToolChainRuns: chainRestoreRun.runs,
      dumpBytes,
      toolChainSeconds: chain.seconds,
    },
    lifeboat: {
      repositoryCreationRunSeconds: creation.seconds,
      backupSeconds: first.seconds,
      secondBackupSeconds: second.seconds,
      restoreSeconds: restore.seconds,
      restoreRuns: restore.runs,
      firstBytesAdded: firstAdded,
      secondBytesAdded: secondAdded,
      peakRssBytes: Math.max(first.peakRss, second.peakRss, restore.peakRss),
    },
    ratios: {
      backupVsPgDump: first.seconds / pgDump.seconds,
      backupVsToolChain: first.seconds / chain.seconds,
      toolChainVsPgDump: chain.seconds / pgDump.seconds,
      restoreVsPgRestore: restore.seconds / pgRestore.seconds,
      restoreVsToolChain: restore.seconds / chainRestoreRun.seconds,
      restoreToolChainVsPgRestore: chainRestoreRun.seconds / pgRestore.seconds,
      secondBackupAddedFraction: secondAdded / firstAdded,
      secondBackupVsPgDump: second.seconds / pgDump.seconds,
    },
  };
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  const mib = (b) => (b / 2 ** 20).toFixed(0);
  process.stdout.write(
    [
      '',
      `| measure | Lifeboat | baseline | ratio | goal |`,
      `| --- | --- | --- | --- | --- |`,
      `| backup wall time | ${first.seconds.toFixed(1)} s | pg_dump -Fc to a file: ${pgDump.seconds.toFixed(1)} s | ${report.ratios.backupVsPgDump.toFixed(2)} | ≤ 1.2 |`,
      `| the same against the tool chain alone | ${first.seconds.toFixed(1)} s | pg_dump -Fc -Z0 \\| restic backup --stdin: ${chain.seconds.toFixed(1)} s | ${report.ratios.backupVsToolChain.toFixed(2)} | |`,
      `| the tool chain alone against pg_dump -Fc | ${chain.seconds.toFixed(1)} s | ${pgDump.seconds.toFixed(1)} s | ${report.ratios.toolChainVsPgDump.toFixed(2)} | |`,
      `| second backup, after +1 % rows | ${second.seconds.toFixed(1)} s | | ${report.ratios.secondBackupVsPgDump.toFixed(2)} | |`,
      `| first run, creating the repository (a one-file dataset) | ${creation.seconds.toFixed(1)} s | | | |`,
      `| restore wall time, median of ${restore.runs.length} | ${restore.seconds.toFixed(1)} s | pg_restore of a pg_dump -Fc file: ${pgRestore.seconds.toFixed(1)} s | ${report.ratios.restoreVsPgRestore.toFixed(2)} | ≤ 1.0 |`,
      `| the same against the tool chain alone | ${restore.seconds.toFixed(1)} s | restic dump \\| pg_restore: ${chainRestoreRun.seconds.toFixed(1)} s | ${report.ratios.restoreVsToolChain.toFixed(2)} | |`,
      `| the tool chain alone against pg_restore of the file | ${chainRestoreRun.seconds.toFixed(1)} s | ${pgRestore.seconds.toFixed(1)} s | ${report.ratios.restoreToolChainVsPgRestore.toFixed(2)} | |`,
      `| bytes added by a 2nd backup after +1 % rows | ${mib(secondAdded)} MiB of ${mib(firstAdded)} MiB | pg_dump -Fc: a new ${mib(dumpBytes)} MiB file | ${(100 * report.ratios.secondBackupAddedFraction).toFixed(1)} % | ≤ 5 % |`,
      `| peak memory of the Lifeboat process | ${mib(report.lifeboat.peakRssBytes)} MiB | | | ≤ 200 MB |`,
      '',
    ].join('\n'),
  );
} finally {
  await pg.stop();
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir}`);
}
