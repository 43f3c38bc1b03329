/**
 * Restores against real servers: throwaway PostgreSQL, MariaDB and Redis instances (one each
 * as source and target; Redis gets a second one as a target), a real restic repository in a
 * temp dir. Every dataset is backed up once in `before`; the tests restore from it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { OperationError, RefusedError, UsageError } from '../errors.js';
import { loadPlanFile } from '../plan/load.js';
import { planBackup, runBackup } from './backup.js';
import { createProtectContext, type ProtectContext } from './context.js';
import { applyRestore, planRestore } from './restore.js';
import { stopAll } from '../system/instance.js';
import { holdForHandOver } from '../system/pipe-handover.js';
import { startMariadb, type MariadbInstance } from '../stores/mysql/sandbox.js';
import { startPostgres, type PostgresInstance } from '../stores/postgres/sandbox.js';
import { startRedis, type RedisInstance } from '../stores/redis/sandbox.js';
import { runToolOk } from '../system/tool.js';

describe('restore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-restore-test-'));
  const out = join(dir, 'out');
  let pg: PostgresInstance;
  let maria: MariadbInstance;
  let redis: RedisInstance;
  let redisTarget: RedisInstance;
  let context: ProtectContext;

  before(async () => {
    [pg, maria, redis, redisTarget] = await Promise.all([
      startPostgres({ fast: true }),
      startMariadb({ fast: true }),
      startRedis(),
      // A password on the target: the copy authenticates without putting it in arguments.
      startRedis({ password: 'target-secret' }),
    ]);
    await pg.psqlScript(
      `CREATE ROLE app_owner LOGIN PASSWORD 'app-secret'; CREATE DATABASE app OWNER app_owner;`,
    );
    await runToolOk('pgbench', [
      '-i',
      '-s',
      '1',
      '-q',
      '-h',
      pg.socketDir,
      '-p',
      String(pg.port),
      '-U',
      'postgres',
      'app',
    ]);
    await pg.psqlScript(
      `CREATE TABLE notes (id serial PRIMARY KEY, body text, doc jsonb, at timestamptz DEFAULT now());
       INSERT INTO notes (body, doc) SELECT 'note ' || i || E'\\twith tab', jsonb_build_object('i', i) FROM generate_series(1, 500) i;
       INSERT INTO notes (body) VALUES (NULL), ('ünïcödé');
       ALTER TABLE notes OWNER TO app_owner;
       UPDATE pgbench_accounts SET abalance = aid % 97 WHERE aid % 10 = 0;`,
      'app',
    );
    const orders = Array.from(
      { length: 2000 },
      (_, i) => `('c${i + 1}', ${(i + 1) * 1.5}, ${(i + 1) % 7 === 0 ? 'NULL' : "'n\\tote'"})`,
    );
    await maria.query(`CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY AUTO_INCREMENT, customer VARCHAR(40), total DECIMAL(10,2), note TEXT);
      INSERT INTO shop.orders (customer, total, note) VALUES ${orders.join(', ')};`);
    for (let db = 0; db < 3; db++) {
      await redis.cli(
        [
          'EVAL',
          `for i = 1, ${300 + db * 50} do redis.call('SET', 'k:' .. i, 'v' .. i) end redis.call('HSET', 'h', 'a', '1', 'b', '2') return 1`,
          '0',
        ],
        db,
      );
    }
    await redis.cli(['SET', 'session', 'x', 'EX', '3600']);
    mkdirSync(join(dir, 'files', 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(dir, 'files', 'a.txt'), 'hello\n');
    writeFileSync(
      join(dir, 'files', 'sub', 'b.bin'),
      createHash('sha256').update('seed').digest().toString('hex').repeat(5000),
    );
    writeFileSync(join(dir, 'files', 'sub', 'deeper', 'empty'), '');
    writeFileSync(join(dir, 'export.json'), '{"docs": [1, 2, 3]}\n');
    writeFileSync(
      join(dir, 'lifeboat.yaml'),
      `version: 1
organization: Restore Test
datasets:
  app:
    source: { type: postgres, url: "${pg.urlFor('postgres')}", databases: [app] }
    backup: { every: 1h }
    verify:
      checks:
        - { name: accounts, sql: "select count(*) from pgbench_accounts", expect: { equals: 100000 } }
        - { name: notes, sql: "select count(*) from notes", expect: { min: 502 } }
  shop:
    source: { type: mysql, url: "${maria.url}", databases: [shop] }
    backup: { every: 1h }
    verify: { checks: [ { sql: "select count(*) from orders", expect: { equals: 2000 } } ] }
  cache:
    source: { type: redis, url: "${redis.url}" }
    backup: { every: 1h }
  docs:
    source: { type: files, paths: [./files] }
    backup: { every: 1h }
    verify: { checks: [ { command: 'test -f "$LIFEBOAT_TARGET_DIR/files/a.txt"' } ] }
  search:
    source: { type: command, command: "cat export.json", restore: "cat > imported.json", filename: search/export.json }
    backup: { every: 1h }
    verify: { checks: [ { command: "grep -q docs imported.json" } ] }
`,
    );
    context = createProtectContext(loadPlanFile(join(dir, 'lifeboat.yaml')));
    const results = await runBackup(
      context,
      planBackup(context.plan, [], (id) => context.repositoryOf(id)),
    );
    assert.deepEqual(
      results.map((r) => [r.dataset, r.ok, r.error]),
      ['app', 'shop', 'cache', 'docs', 'search'].map((d) => [d, true, undefined]),
    );
  });

  after(async () => {
    await context?.close();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Per table: row count and md5 of every row's text, in a stable order. */
  async function pgContent(database: string): Promise<Record<string, string>> {
    const tables = (
      await pg.psql(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`, database)
    ).map((r) => r[0]!);
    const content: Record<string, string> = {};
    for (const table of tables) {
      const [row] = await pg.psql(
        `SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM ${table} t`,
        database,
      );
      content[table] = row![0]!;
    }
    return content;
  }

  test('PostgreSQL into a new database: row for row equal, fingerprint equal, checks pass, audited', async () => {
    const started = Date.now();
    const plan = await planRestore(context, {
      dataset: 'app',
      to: pg.urlFor('app_restored'),
    });
    assert.equal(plan.needsConfirmation, false);
    const result = await applyRestore(context, plan);
    assert.equal(result.ok, true, result.error);
    assert.equal(result.fingerprint.equal, true, result.fingerprint.differences.join('\n'));
    assert.deepEqual(
      result.checks.map((c) => c.ok),
      [true, true],
    );
    const source = await pgContent('app');
    assert.equal(Object.keys(source).length, 5);
    assert.deepEqual(await pgContent('app_restored'), source);
    // Ownership came back, and the existing role kept the password the target gave it.
    const [owner] = await pg.psql(
      `SELECT tableowner FROM pg_tables WHERE tablename = 'notes'`,
      'app_restored',
    );
    assert.equal(owner![0], 'app_owner');
    const [audit] = await (await context.state()).listAudit({ action: 'restore.run', limit: 1 });
    assert.equal(audit?.outcome, 'ok');
    console.log(
      `postgres restore (pgbench -s 1 + 502 rows): ${result.restoreSeconds}s, with proof ${(Date.now() - started) / 1000}s`,
    );
  });

  test('PostgreSQL over a non-empty database: refused and unchanged without force, replaced with it', async () => {
    await pg.psqlScript(`CREATE DATABASE busy; `);
    await pg.psqlScript(`CREATE TABLE precious (v text); INSERT INTO precious VALUES ('keep me');`, 'busy');
    const plan = await planRestore(context, {
      dataset: 'app',
      to: pg.urlFor('busy'),
    });
    assert.equal(plan.needsConfirmation, true);
    assert.match(plan.occupied.join(), /database "busy" .* holds 1 table/);
    // Replaced by a swap after the proof: the old database is renamed aside, never dropped.
    assert.match(plan.actions.join(), /"busy" .*renamed aside to "busy__lifeboat_replaced_<id>" and kept/);
    await assert.rejects(
      applyRestore(context, plan),
      (e: unknown) => e instanceof RefusedError && e.exitCode === 4,
    );
    assert.deepEqual(await pg.psql('SELECT v FROM precious', 'busy'), [['keep me']]);
    const [refusal] = await (await context.state()).listAudit({ action: 'restore.run', limit: 1 });
    assert.equal(refusal?.outcome, 'refused');

    const result = await applyRestore(context, plan, { force: true });
    assert.equal(result.ok, true, result.error);
    assert.deepEqual(await pgContent('busy'), await pgContent('app'));
    const aside = /kept as "(busy__lifeboat_replaced_[0-9a-f]{8})"/.exec(result.replaced?.join() ?? '')?.[1];
    assert.ok(aside, result.replaced?.join());
    assert.deepEqual(await pg.psql('SELECT v FROM precious', aside), [['keep me']]);
  });

  test('PostgreSQL: a dump restic cannot read fails the restore with restic named', async () => {
    const plan = await planRestore(context, {
      dataset: 'app',
      to: pg.urlFor('app_broken'),
    });
    const unit = plan.units.find((u) => u.database === 'app')!;
    const broken = {
      ...plan,
      units: plan.units.map((u) => (u === unit ? { ...u, stored: 'postgres__missing.dump' } : u)),
    };
    // restic's failure is the cause reported, not pg_restore's complaint about a truncated input.
    await assert.rejects(
      applyRestore(context, broken),
      (e: unknown) => e instanceof OperationError && /restic dump failed.*not found/.test(e.message),
    );
    // A failed restore leaves nothing it created: no database, staged or final.
    assert.deepEqual(
      await pg.psql(
        "SELECT datname FROM pg_database WHERE datname LIKE 'app\\_broken%' OR datname LIKE '%lifeboat\\_restore%'",
      ),
      [],
    );
  });

  test(
    'restic failing before the restore tool starts still fails the restore, and does not hang',
    { timeout: 60_000 },
    async () => {
      // The database is created before pg_restore starts; a dump that dies meanwhile must not
      // leave pg_restore waiting for an input that never ends.
      const real = await context.repository('local');
      const failing = Object.create(real) as typeof real;
      failing.dumpStream = async (snapshotId, filename, options) => {
        // Called as `failing`, so that the restore's session on it covers the real dumps too.
        if (!filename.endsWith('app.dump'))
          return real.dumpStream.call(failing, snapshotId, filename, options);
        const error = new OperationError('restic dump failed (exit 1): simulated');
        if (options?.raw) {
          // A process that dies without writing, its output pipe handed over like restic's.
          const child = spawn('sh', ['-c', 'exit 1'], { stdio: ['ignore', 'pipe', 'ignore'] });
          const handedOver = holdForHandOver(child.stdout);
          const done = once(child, 'exit').then(() => Promise.reject(error));
          done.catch(() => undefined);
          return { stream: child.stdout, done, pid: child.pid, handedOver };
        }
        const stream = new PassThrough();
        setImmediate(() => stream.destroy(error));
        const done = Promise.reject(error);
        done.catch(() => undefined);
        return { stream, done, pid: undefined, handedOver: false };
      };
      const withFailingRepository = { ...context, repository: async () => failing };
      const plan = await planRestore(context, {
        dataset: 'app',
        to: pg.urlFor('app_early'),
      });
      await assert.rejects(applyRestore(withFailingRepository, plan), /simulated/);
    },
  );

  test('MariaDB into a new database: rows equal', async () => {
    const plan = await planRestore(context, {
      dataset: 'shop',
      to: `${maria.url}shop_restored`,
    });
    const result = await applyRestore(context, plan);
    assert.equal(result.ok, true, result.error);
    assert.equal(result.fingerprint.equal, true);
    const digest = (db: string) =>
      maria.query(
        `SELECT COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS('|', id, customer, total, IFNULL(note, '\\\\N')) ORDER BY id SEPARATOR '\\n')) FROM ${db}.orders`,
      );
    const [source] = await digest('shop');
    assert.equal(source![0], '2000');
    assert.deepEqual(await digest('shop_restored'), [source]);
  });

  test('Redis into a fresh server: key counts and contents equal; a server with keys needs force', async () => {
    const plan = await planRestore(context, { dataset: 'cache', to: redisTarget.url });
    assert.equal(plan.needsConfirmation, false);
    const result = await applyRestore(context, plan);
    assert.equal(result.ok, true, result.error);
    assert.equal(result.fingerprint.equal, true);
    for (const db of [0, 1, 2]) {
      assert.equal(await redisTarget.cli(['DBSIZE'], db), await redis.cli(['DBSIZE'], db), `db${db}`);
    }
    assert.equal((await redisTarget.cli(['GET', 'k:42'], 1)).trim(), 'v42');
    assert.ok(Number(await redisTarget.cli(['TTL', 'session'])) > 3000);

    await redisTarget.cli(['SET', 'k:42', 'changed'], 1);
    const again = await planRestore(context, { dataset: 'cache', to: redisTarget.url });
    assert.equal(again.needsConfirmation, true);
    await assert.rejects(applyRestore(context, again), RefusedError);
    assert.equal((await redisTarget.cli(['GET', 'k:42'], 1)).trim(), 'changed');
    const forced = await applyRestore(context, again, { force: true });
    assert.equal(forced.ok, true, forced.error);
    assert.equal((await redisTarget.cli(['GET', 'k:42'], 1)).trim(), 'v42');
  });

  test('Redis into a directory: dump.rdb, proven on a throwaway server', async () => {
    const result = await applyRestore(
      context,
      await planRestore(context, { dataset: 'cache', to: join(out, 'rdb') }),
    );
    assert.equal(result.ok, true, result.error);
    assert.ok(statSync(join(out, 'rdb', 'dump.rdb')).size > 0);
  });

  test('files: byte for byte equal; a non-empty directory needs force; the source paths are off limits', async () => {
    const target = join(out, 'docs');
    const result = await applyRestore(context, await planRestore(context, { dataset: 'docs', to: target }));
    assert.equal(result.ok, true, result.error);
    const source = join(dir, 'files');
    // Below the target as the dataset's one path is named, not under its absolute path.
    const restored = join(target, 'files');
    assert.equal(existsSync(join(target, source)), false);
    assert.deepEqual(hashTree(restored), hashTree(source));
    assert.equal(Object.keys(hashTree(source)).length, 3);

    writeFileSync(join(restored, 'a.txt'), 'edited after the restore\n');
    const again = await planRestore(context, { dataset: 'docs', to: target });
    assert.equal(again.needsConfirmation, true);
    await assert.rejects(applyRestore(context, again), RefusedError);
    assert.equal(readFileSync(join(restored, 'a.txt'), 'utf8'), 'edited after the restore\n');
    assert.equal((await applyRestore(context, again, { force: true })).ok, true);
    assert.equal(readFileSync(join(restored, 'a.txt'), 'utf8'), 'hello\n');

    await assert.rejects(planRestore(context, { dataset: 'docs', to: join(source, 'sub') }), RefusedError);
  });

  test('command: the stored output is piped into the restore command in the target dir', async () => {
    const target = join(out, 'search');
    const result = await applyRestore(context, await planRestore(context, { dataset: 'search', to: target }));
    assert.equal(result.ok, true, result.error);
    assert.equal(
      readFileSync(join(target, 'imported.json'), 'utf8'),
      readFileSync(join(dir, 'export.json'), 'utf8'),
    );
    assert.equal(result.fingerprint.compared, false);
    assert.equal(result.fingerprint.equal, true);
  });

  test('choosing the recovery point: --snapshot by a unit id, --at before the first, unknown names', async () => {
    const latest = await planRestore(context, { dataset: 'docs', to: join(out, 'unused') });
    const unitId = latest.units[0]!.snapshotId;
    const bySnapshot = await planRestore(context, {
      dataset: 'docs',
      to: join(out, 'unused'),
      snapshot: unitId.slice(0, 10),
    });
    assert.equal(bySnapshot.recoveryPoint.snapshotId, latest.recoveryPoint.snapshotId);
    await assert.rejects(
      planRestore(context, { dataset: 'docs', to: join(out, 'unused'), at: '2001-01-01 00:00' }),
      (e: unknown) => e instanceof UsageError && e.message.includes(latest.recoveryPoint.startedAt),
    );
    await assert.rejects(
      planRestore(context, { dataset: 'app', to: join(out, 'unused'), snapshot: unitId.slice(0, 10) }),
      /belongs to dataset 'docs'/,
    );
    await assert.rejects(
      planRestore(context, { dataset: 'nope', to: 'x' }),
      (e: unknown) => e instanceof UsageError && /app, shop, cache, docs, search/.test(e.hint ?? ''),
    );
  });
});

function hashTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[relative(root, full)] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(root);
  return out;
}
