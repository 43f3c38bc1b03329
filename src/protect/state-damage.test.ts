/**
 * A state store with damaged pages: every command stops with exit 3 saying so and what to
 * do, nothing writes into it, doctor finds it, and `catalog rebuild --into` rebuilds the
 * recovery points from the repository into a new file that works once moved into place.
 * The built CLI, real backups, real damage.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../cli/testing/run-cli.js';
import { checkStateIntegrity } from '../doctor/state-integrity.js';
import { loadPlanFile } from '../plan/load.js';
import { createProtectContext } from './context.js';

const PLAN = `version: 1
organization: Damaged State Test
document: { next_review: 2099-01-01 }
datasets:
  docs:
    rpo: 1d
    source: { type: files, paths: [./files] }
    backup: { every: 1h }
`;

/** Overwrites the middle half of the file, page-aligned, with bytes no SQLite page holds. */
function damage(file: string): void {
  const size = statSync(file).size;
  const page = 4096;
  const start = Math.floor(size / 4 / page) * page;
  const end = Math.ceil((size * 3) / 4 / page) * page;
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Buffer.alloc(end - start, 0xa5), 0, end - start, start);
  } finally {
    closeSync(fd);
  }
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('a damaged state store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-damaged-state-'));
  const planFile = join(dir, 'lifeboat.yaml');
  const state = join(dir, '.lifeboat', 'state.db');
  const lifeboat = (...args: string[]) =>
    runCli([...args, '--plan', planFile], { cwd: dir, timeoutMs: 60_000 });

  before(async () => {
    mkdirSync(join(dir, 'files'));
    writeFileSync(join(dir, 'files', 'README'), 'keep me\n');
    writeFileSync(planFile, PLAN);
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(dir, 'files', 'n'), `${i}\n`);
      const backup = await lifeboat('backup');
      assert.equal(backup.code, 0, backup.stderr);
    }
    // Every command closes the store, which folds the write-ahead log into the file.
    assert.equal(existsSync(`${state}-wal`), false);
    damage(state);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('status exits 3 naming the file and the way back; nothing writes into it', async () => {
    const before = sha(state);
    const status = await lifeboat('status');
    assert.equal(status.code, 3, status.stdout + status.stderr);
    assert.match(status.stderr, new RegExp(`state store ${state}: it is damaged`));
    assert.match(status.stderr, /lifeboat catalog rebuild --into NEW_FILE/);
    const backup = await lifeboat('backup');
    assert.notEqual(backup.code, 0);
    assert.match(backup.stdout + backup.stderr, /is damaged/);
    assert.equal(sha(state), before, 'a command wrote into the damaged store');
  });

  test('doctor reports it, and so does the integrity check', async () => {
    const doctor = await lifeboat('doctor');
    assert.equal(doctor.code, 3, doctor.stdout);
    assert.match(doctor.stdout, /is damaged/);
    const context = createProtectContext(loadPlanFile(planFile), {
      ...process.env,
      LIFEBOAT_DATABASE_URL: '',
    });
    const check = await checkStateIntegrity(context);
    assert.equal(check.ok, false, check.detail);
    assert.match(check.detail, /is damaged/);
    assert.match(check.fix ?? '', /catalog rebuild --into/);
  });

  test('catalog rebuild --into writes a store that, moved into place, shows the recovery points', async () => {
    const into = join(dir, 'rebuilt.db');
    const rebuild = await lifeboat('catalog', 'rebuild', '--into', into);
    assert.equal(rebuild.code, 0, rebuild.stdout + rebuild.stderr);
    assert.match(rebuild.stdout, /3 recovery point\(s\)/);
    assert.match(rebuild.stdout, /to use it: /);
    const again = await lifeboat('catalog', 'rebuild', '--into', into);
    assert.equal(again.code, 4, 'an existing file is never overwritten');

    mkdirSync(join(dir, 'damaged'));
    renameSync(state, join(dir, 'damaged', 'state.db'));
    for (const suffix of ['-wal', '-shm']) rmSync(state + suffix, { force: true });
    renameSync(into, state);
    const status = await lifeboat('status', '--json');
    assert.equal(status.code, 0, status.stderr);
    const docs = (
      JSON.parse(status.stdout) as { datasets: { dataset: string; newest: unknown }[] }
    ).datasets.find((d) => d.dataset === 'docs');
    assert.ok(docs?.newest, status.stdout);
    const snapshots = await lifeboat('snapshots', '--json');
    assert.equal((JSON.parse(snapshots.stdout) as { snapshots: unknown[] }).snapshots.length, 3);
  });
});
