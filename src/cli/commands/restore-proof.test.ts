/**
 * What `lifeboat restore` proves of a PostgreSQL database holding every kind of object:
 * backed up and restored with the built CLI, under the default (lenient) policy and with the
 * plan's checks passing. A copy that differs from its backup in any category fails (exit 1,
 * audited as failed) and the result names the category, as the fingerprint was taken in the
 * dump's own snapshot. The differences are made on the way in: a `pg_restore` first on PATH
 * changes a few bytes of the dump (a COPY row, a setval, a function body, a large object, a
 * GRANT, the database's comment) before handing it to the real one.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startPostgres, type PostgresInstance } from '../../stores/postgres/sandbox.js';
import { everyKindSql, rolesSql } from '../../stores/postgres/testing/every-kind.js';
import { runToolOk } from '../../system/tool.js';
import { newestAudit } from '../testing/audit.js';
import { runCli } from '../testing/run-cli.js';

/** Reads the dump, swaps same-length byte strings (so every length in the archive holds), restores it. */
const tamperingPgRestore = (real: string) => `#!${process.execPath}
import { spawn } from 'node:child_process';
const swaps = JSON.parse(process.env.LIFEBOAT_TEST_SWAPS ?? '[]');
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const data = Buffer.concat(chunks);
for (const [from, to] of swaps) {
  const at = data.indexOf(Buffer.from(from));
  if (at < 0 || from.length !== to.length) {
    process.stderr.write('test pg_restore: cannot swap ' + from + '\\n');
    process.exit(9);
  }
  Buffer.from(to).copy(data, at);
}
const child = spawn(${JSON.stringify(real)}, process.argv.slice(2), { stdio: ['pipe', 'inherit', 'inherit'] });
child.stdin.end(data);
child.on('close', (code) => process.exit(code ?? 1));
`;

describe('lifeboat restore proves every category of a PostgreSQL database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-cli-proof-'));
  const plan = join(dir, 'lifeboat.yaml');
  const bin = join(dir, 'bin');
  let pg: PostgresInstance;

  const restore = (database: string, swaps: [string, string][]) =>
    runCli(['restore', 'kinds', '--to', pg.urlFor(database), '--json', '--plan', plan], {
      cwd: dir,
      timeoutMs: 120_000,
      env: {
        ...process.env,
        PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`,
        LIFEBOAT_TEST_SWAPS: JSON.stringify(swaps),
      },
    });
  /** Whether this restore recreates the database's owner, ACL, settings and comment. */
  const propertiesRestored = async (database: string) =>
    (
      await pg.psql(`SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '${database}'`)
    )[0]?.[0] === 'kinds_owner';

  before(async () => {
    pg = await startPostgres({ fast: true });
    await pg.psqlScript(rolesSql);
    await pg.psql('CREATE DATABASE kinds');
    await pg.psqlScript(everyKindSql('kinds'), 'kinds');
    mkdirSync(bin);
    const real = (await runToolOk('sh', ['-c', 'command -v pg_restore'])).stdout.trim();
    writeFileSync(join(bin, 'pg_restore'), tamperingPgRestore(real));
    chmodSync(join(bin, 'pg_restore'), 0o755);
    writeFileSync(
      plan,
      `version: 1
organization: Restore Proof Test
document: { next_review: 2099-01-01 }
datasets:
  kinds:
    rpo: 1h
    source: { type: postgres, url: "${pg.urlFor('postgres')}", databases: [kinds] }
    backup: { every: 15m }
    verify: { checks: [ { sql: "select count(*) from app.orders", expect: { equals: 3 } } ] }
`,
    );
    const backup = await runCli(['backup', '--plan', plan], { cwd: dir, timeoutMs: 120_000 });
    assert.equal(backup.code, 0, backup.stderr);
  });

  after(async () => {
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an untouched restore is proven in every category, or fails on the database properties alone', async () => {
    const run = await restore('kinds_copy', []);
    const { result } = JSON.parse(run.stdout);
    assert.deepEqual(result.fingerprint.categories, [
      'rows',
      'sequences',
      'definitions',
      'large objects',
      'grants',
      'database properties',
    ]);
    assert.equal(result.fingerprint.consistent, true);
    assert.deepEqual(
      result.checks.map((c: { ok: boolean }) => c.ok),
      [true],
    );
    if (await propertiesRestored('kinds_copy')) {
      assert.equal(run.code, 0, run.stderr);
      assert.equal(result.ok, true);
      assert.deepEqual(result.fingerprint.differences, []);
      assert.equal((await newestAudit(plan, 'restore.run'))?.outcome, 'ok');
    } else {
      // The restore does not recreate the database itself yet: the proof says exactly that.
      assert.equal(run.code, 1, run.stderr);
      assert.deepEqual(result.fingerprint.differingIn, ['database properties of kinds']);
      assert.match(result.error, /database properties of kinds/);
      assert.notEqual((await newestAudit(plan, 'restore.run'))?.outcome, 'ok');
    }
  });

  const tampered: [string, string, [string, string][]][] = [
    ['rows', 'kinds_rows', [['\tada\t', '\tadb\t']]],
    ['sequences', 'kinds_sequences', [["'app.tickets', 105", "'app.tickets', 104"]]],
    ['definitions', 'kinds_definitions', [['(a + b)', '(a - b)']]],
    ['large objects', 'kinds_large_objects', [['large object large', 'LARGE object large']]],
    [
      'grants',
      'kinds_grants',
      [['GRANT SELECT ON TABLE app.big_orders', 'GRANT UPDATE ON TABLE app.big_orders']],
    ],
    ['database properties', 'kinds_properties', [["'every kind'", "'EVERY kind'"]]],
  ];
  for (const [category, database, swaps] of tampered) {
    test(`a restored copy differing in ${category} fails under the lenient policy: exit 1, audited as failed, the category named`, async () => {
      const run = await restore(database, swaps);
      assert.equal(run.code, 1, run.stderr);
      const { result } = JSON.parse(run.stdout);
      assert.equal(result.ok, false);
      assert.deepEqual(
        result.checks.map((c: { ok: boolean }) => c.ok),
        [true],
        'the checks alone would pass',
      );
      const named = `${category} of kinds`;
      assert.ok(result.fingerprint.differingIn.includes(named), result.fingerprint.differences.join('\n'));
      // Nothing else differs, but the database properties a restore may not recreate yet.
      const keepsProperties = await propertiesRestored(database);
      assert.deepEqual(
        (result.fingerprint.differingIn as string[]).filter(
          (where) => where !== named && (keepsProperties || where !== 'database properties of kinds'),
        ),
        [],
      );
      assert.match(result.error, new RegExp(named));
      assert.match(result.error, /no write to the source explains this/);
      const audit = await newestAudit(plan, 'restore.run');
      assert.equal(audit?.outcome, 'failed');
    });
  }
});
