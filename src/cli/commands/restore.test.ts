/**
 * `lifeboat restore` as a user runs it: the built CLI against a plan for a throwaway
 * PostgreSQL and a directory of files, backed up with `lifeboat backup` first. Covers the
 * refusals (exit 4, target unchanged), the typed confirmation without a terminal (--yes),
 * and the clear errors of bad input (exit 2, no stack trace).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startPostgres, type PostgresInstance } from '../../stores/postgres/sandbox.js';
import { runCli, type CliRun } from '../testing/run-cli.js';

describe('lifeboat restore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-cli-restore-'));
  const files = join(dir, 'files');
  let pg: PostgresInstance;

  const lifeboat = (...args: string[]) =>
    runCli([...args, '--plan', join(dir, 'lifeboat.yaml')], { cwd: dir, timeoutMs: 60_000 });
  const noStack = (run: CliRun) => assert.doesNotMatch(run.stderr, /^\s+at /m, run.stderr);
  const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

  before(async () => {
    pg = await startPostgres({ fast: true });
    await pg.psql('CREATE DATABASE app');
    await pg.psqlScript(
      'CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 3000) g;',
      'app',
    );
    mkdirSync(join(files, 'nested'), { recursive: true });
    writeFileSync(join(files, 'a.txt'), 'hello\n');
    writeFileSync(join(files, 'nested', 'b.bin'), Buffer.alloc(40_000, 9));
    writeFileSync(
      join(dir, 'lifeboat.yaml'),
      `version: 1
organization: Restore CLI Test
document: { next_review: 2099-01-01 }
datasets:
  app:
    rpo: 1h
    source: { type: postgres, url: "${pg.urlFor('postgres')}", databases: [app] }
    backup: { every: 15m }
    verify: { checks: [ { sql: "select count(*) from orders", expect: { equals: 3000 } } ] }
  docs:
    rpo: 1d
    source: { type: files, paths: [./files] }
    backup: { every: 1h }
    verify: {}
`,
    );
    const backup = await lifeboat('backup');
    assert.equal(backup.code, 0, backup.stderr);
  });

  after(async () => {
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('files into a new directory: exit 0, byte for byte; then refused (exit 4, unchanged) until --force --yes', async () => {
    const first = await lifeboat('restore', 'docs', '--to', 'restored');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Restored and proven/);
    const copy = join(dir, 'restored', 'files');
    assert.equal(existsSync(join(dir, 'restored', files)), false, 'not under the absolute source path');
    assert.equal(sha(join(copy, 'nested', 'b.bin')), sha(join(files, 'nested', 'b.bin')));
    assert.equal(sha(join(copy, 'a.txt')), sha(join(files, 'a.txt')));

    writeFileSync(join(copy, 'a.txt'), 'mine now\n');
    const refused = await lifeboat('restore', 'docs', '--to', 'restored');
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /refusing to restore 'docs' over existing data: directory .* is not empty/);
    assert.match(refused.stderr, /--force/);
    noStack(refused);
    const noTerminal = await lifeboat('restore', 'docs', '--to', 'restored', '--force');
    assert.equal(noTerminal.code, 4);
    assert.match(noTerminal.stderr, /--yes/);
    const dryRun = await lifeboat('restore', 'docs', '--to', 'restored', '--dry-run');
    assert.equal(dryRun.code, 0);
    assert.match(dryRun.stdout, /needs: --force and a typed confirmation/);
    assert.equal(readFileSync(join(copy, 'a.txt'), 'utf8'), 'mine now\n');

    const forced = await lifeboat('restore', 'docs', '--to', 'restored', '--force', '--yes');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /files of the same path are replaced/);
    assert.equal(readFileSync(join(copy, 'a.txt'), 'utf8'), 'hello\n');
  });

  test('PostgreSQL: a new database, then the same one refused and unchanged, replaced after confirmation', async () => {
    const url = pg.urlFor('app_copy');
    const fresh = await lifeboat('restore', 'app', '--to', url);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.match(fresh.stdout, /Checks: 1 of 1 passed/);
    await pg.psql("UPDATE orders SET note = 'changed' WHERE id = 1", 'app_copy');

    const refused = await lifeboat('restore', 'app', '--to', url, '--json');
    assert.equal(refused.code, 4);
    assert.equal(JSON.parse(refused.stdout).error, 'refused');
    assert.deepEqual(await pg.psql('SELECT note FROM orders WHERE id = 1', 'app_copy'), [['changed']]);

    const forced = await lifeboat('restore', 'app', '--to', url, '--force', '--yes', '--json');
    assert.equal(forced.code, 0, forced.stderr);
    const doc = JSON.parse(forced.stdout);
    assert.equal(doc.result.ok, true);
    assert.equal(doc.result.fingerprint.equal, true);
    // The replaced database is renamed aside and kept, not dropped; the result says how to drop it.
    assert.match(
      forced.stderr,
      /"app_copy" \(its connections closed\) is renamed aside .* kept, not dropped/,
    );
    assert.match(doc.result.replaced.join(), /DROP DATABASE "app_copy__lifeboat_replaced_[0-9a-f]{8}"/);
    assert.deepEqual(
      await pg.psql('SELECT note FROM orders WHERE id = 1', 'app_copy'),
      await pg.psql('SELECT note FROM orders WHERE id = 1', 'app'),
    );
  });

  test('bad input: clear messages, exit 2, no stack trace', async () => {
    const early = await lifeboat('restore', 'docs', '--to', 'early', '--at', '2000-01-01 00:00');
    assert.equal(early.code, 2);
    assert.match(early.stderr, /no recovery point at or before .* the first one is from \d{4}-/);
    assert.ok(!existsSync(join(dir, 'early')));
    const unknown = await lifeboat('restore', 'nope', '--to', 'x');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown dataset 'nope'[\s\S]*app, docs/);
    const noTarget = await lifeboat('restore', 'docs');
    assert.equal(noTarget.code, 2);
    assert.match(noTarget.stderr, /--to is required/);
    const badTime = await lifeboat('restore', 'docs', '--to', 'x', '--at', 'last tuesday');
    assert.equal(badTime.code, 2);
    const wrongKind = await lifeboat('restore', 'app', '--to', './somewhere');
    assert.equal(wrongKind.code, 2);
    assert.match(wrongKind.stderr, /postgres:\/\/HOST:PORT\/NEWDB/);
    const intoSource = await lifeboat('restore', 'docs', '--to', 'files/inside');
    assert.equal(intoSource.code, 4);
    for (const run of [early, unknown, noTarget, badTime, wrongKind, intoSource]) noStack(run);
  });
});
