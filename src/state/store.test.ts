import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { EnvironmentError, UsageError } from '../errors.js';
import { checkMigrations, migrations } from './migrations.js';
import { redactUrl, toPostgresPlaceholders } from './postgres.js';
import { defaultStatePath, openStateStore, type StateStore, type StateStoreOptions } from './store.js';

/** Each test gets its own database: a new SQLite file, or a new PostgreSQL database. */
interface TestBackend {
  name: 'sqlite' | 'postgres';
  setup(): Promise<void>;
  fresh(): Promise<StateStoreOptions>;
  /** Raw SQL on the database behind `options`, bypassing the store. */
  raw(options: StateStoreOptions, sql: string): Promise<void>;
  teardown(): Promise<void>;
}

function sqliteBackend(): TestBackend {
  let dir = '';
  return {
    name: 'sqlite',
    async setup() {
      dir = mkdtempSync(join(tmpdir(), 'lifeboat-state-'));
    },
    // A directory that does not exist yet: the store must create it.
    fresh: async () => ({ path: join(dir, randomUUID(), 'state.db'), env: {} }),
    async raw(options, sql) {
      const db = new Database(options.path ?? '');
      db.exec(sql);
      db.close();
    },
    async teardown() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

const ADMIN_URL = process.env.LIFEBOAT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function postgresBackend(): TestBackend {
  let admin: pg.Client | undefined;
  let unreachable: Error | undefined;
  const databases: string[] = [];
  const urlOf = (database: string) => {
    const url = new URL(ADMIN_URL);
    url.pathname = `/${database}`;
    return url.toString();
  };
  return {
    name: 'postgres',
    async setup() {
      const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
      try {
        await client.connect();
        admin = client;
      } catch (error) {
        // Not thrown here: a failed hook only cancels the tests, and they must fail, each saying why.
        unreachable = new Error(
          `PostgreSQL is not reachable at ${redactUrl(ADMIN_URL)} (set LIFEBOAT_TEST_PG_URL, ` +
            'or LIFEBOAT_SKIP_PG=1 to skip these tests)',
          { cause: error },
        );
      }
    },
    async fresh() {
      if (!admin) throw unreachable ?? new Error('setup() has not run');
      const name = `lifeboat_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
      await admin.query(`CREATE DATABASE ${name}`);
      databases.push(name);
      return { url: urlOf(name), env: {} };
    },
    async raw(options, sql) {
      const client = new pg.Client({ connectionString: options.url });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
    async teardown() {
      if (!admin) return;
      for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

function suite(backend: TestBackend): void {
  before(() => backend.setup());
  after(() => backend.teardown());

  /** Opens a store on a fresh database, closes it after `fn`. */
  async function withStore<T>(fn: (store: StateStore, options: StateStoreOptions) => Promise<T>): Promise<T> {
    const options = await backend.fresh();
    const store = await openStateStore(options);
    try {
      return await fn(store, options);
    } finally {
      await store.close();
    }
  }

  test('opens the backend it was asked for', () =>
    withStore(async (store) => {
      assert.equal(store.backend, backend.name);
    }));

  test('migrations apply once, and reopening applies none', async () => {
    const options = await backend.fresh();
    const store = await openStateStore(options);
    const applied = await store.appliedMigrations();
    await store.close();
    assert.deepEqual(
      applied.map((m) => [m.version, m.name]),
      migrations.map((m) => [m.version, m.name]),
    );
    const again = await openStateStore(options);
    assert.deepEqual(await again.appliedMigrations(), applied, 'the same rows, with their first applied_at');
    await again.close();
  });

  test('stores opened at the same time on a new database migrate it once', async () => {
    const options = await backend.fresh();
    const stores = await Promise.all([1, 2, 3].map(() => openStateStore(options)));
    try {
      const applied = await stores[0]!.appliedMigrations();
      assert.deepEqual(
        applied.map((m) => m.version),
        migrations.map((m) => m.version),
      );
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('a schema newer than this Lifeboat is refused', async () => {
    const options = await backend.fresh();
    await (await openStateStore(options)).close();
    await backend.raw(
      options,
      `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', '2099-01-01T00:00:00.000Z')`,
    );
    await assert.rejects(openStateStore(options), (error: unknown) => {
      assert.ok(error instanceof EnvironmentError);
      assert.match(error.message, /schema version 999/);
      assert.match(error.hint ?? '', /upgrade Lifeboat/);
      return true;
    });
  });

  test('recordPlanVersion is idempotent on the content hash', () =>
    withStore(async (store) => {
      const input = { contentHash: 'a'.repeat(64), planPath: '/plans/lifeboat.yaml', organization: 'Acme' };
      const first = await store.recordPlanVersion({ ...input, documentVersion: '2.1' });
      assert.equal(first.contentHash, input.contentHash);
      assert.equal(first.organization, 'Acme');
      assert.equal(first.documentVersion, '2.1');
      assert.equal(first.firstSeenAt, first.lastSeenAt);

      const second = await store.recordPlanVersion({ ...input, planPath: '/elsewhere/lifeboat.yaml' });
      assert.equal(second.id, first.id);
      assert.equal(second.planPath, '/plans/lifeboat.yaml', 'where it was first seen');
      assert.equal(second.firstSeenAt, first.firstSeenAt);
      assert.ok(second.lastSeenAt > first.lastSeenAt);

      const other = await store.recordPlanVersion({ ...input, contentHash: 'b'.repeat(64) });
      assert.notEqual(other.id, first.id);
      assert.equal(other.documentVersion, null);
    }));

  test('a snapshot goes from pending to complete or failed', () =>
    withStore(async (store) => {
      const plan = await store.recordPlanVersion({
        contentHash: 'c'.repeat(64),
        planPath: '/p/lifeboat.yaml',
      });
      const pending = await store.insertPendingSnapshot({
        dataset: 'users',
        repository: 'local',
        sourceType: 'postgres',
        planVersionId: plan.id,
        tags: ['lifeboat', 'dataset:users'],
        runId: 'run-1',
        startedAt: '2020-01-01T00:00:00.000Z',
      });
      assert.equal(pending.status, 'pending');
      assert.equal(pending.runId, 'run-1');
      assert.deepEqual(pending.tags, ['lifeboat', 'dataset:users']);
      assert.equal(pending.finishedAt, null);
      assert.equal(pending.resticSnapshotId, null);

      const resticId = 'f'.repeat(64);
      const complete = await store.markSnapshotComplete(pending.id, {
        resticSnapshotId: resticId,
        bytesAdded: 1234,
        totalBytes: 5_000_000_000, // past 2^32: BIGINT must come back as a number
        fingerprint: { tables: { users: { rows: 42, checksum: 'abc' } } },
        units: [{ filename: 'postgres/app.dump', snapshotId: 'a'.repeat(64) }],
        finishedAt: '2020-01-01T00:00:01.500Z',
      });
      assert.deepEqual(complete.units, [{ filename: 'postgres/app.dump', snapshotId: 'a'.repeat(64) }]);
      assert.equal(complete.status, 'complete');
      assert.equal(complete.resticSnapshotId, resticId);
      assert.equal(complete.bytesAdded, 1234);
      assert.equal(complete.totalBytes, 5_000_000_000);
      assert.equal(complete.durationMs, 1500);
      assert.deepEqual(complete.fingerprint, { tables: { users: { rows: 42, checksum: 'abc' } } });
      assert.equal(complete.planVersionId, plan.id);
      assert.deepEqual(await store.getSnapshot(pending.id), complete);

      await assert.rejects(
        store.markSnapshotComplete(pending.id, { resticSnapshotId: 'e'.repeat(64) }),
        /not pending/,
      );
      await assert.rejects(store.markSnapshotFailed(randomUUID(), { error: 'x' }), /no snapshot/);

      const second = await store.insertPendingSnapshot({
        dataset: 'users',
        repository: 'local',
        sourceType: 'postgres',
      });
      const failed = await store.markSnapshotFailed(second.id, {
        error: 'restic: repository locked',
        durationMs: 7,
      });
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error, 'restic: repository locked');
      assert.equal(failed.durationMs, 7);
      assert.ok(failed.finishedAt);
      assert.deepEqual(failed.tags, []);

      assert.deepEqual(
        (await store.listSnapshots('users')).map((s) => s.id),
        [second.id, pending.id],
        'newest first',
      );
      assert.deepEqual(
        (await store.listSnapshots('users', { status: 'complete' })).map((s) => s.id),
        [pending.id],
      );
      assert.equal((await store.listSnapshots('users', { limit: 1 })).length, 1);
      assert.deepEqual(await store.listSnapshots('orders'), []);

      assert.equal(await store.deleteSnapshotByResticId(resticId), true);
      assert.equal(await store.deleteSnapshotByResticId(resticId), false);
      assert.equal(await store.getSnapshot(pending.id), undefined);
    }));

  test('latestCompleteSnapshot ignores failed and pending snapshots', () =>
    withStore(async (store) => {
      assert.equal(await store.latestCompleteSnapshot('users'), undefined);
      const snapshot = (startedAt: string) =>
        store.insertPendingSnapshot({
          dataset: 'users',
          repository: 'local',
          sourceType: 'files',
          startedAt,
        });
      const older = await snapshot('2030-01-01T00:00:00.000Z');
      await store.markSnapshotComplete(older.id, { resticSnapshotId: '1'.repeat(64) });
      const newer = await snapshot('2030-01-02T00:00:00.000Z');
      await store.markSnapshotComplete(newer.id, { resticSnapshotId: '2'.repeat(64) });
      const failed = await snapshot('2030-01-03T00:00:00.000Z');
      await store.markSnapshotFailed(failed.id, { error: 'disk full' });
      await snapshot('2030-01-04T00:00:00.000Z'); // still pending
      const other = await store.insertPendingSnapshot({
        dataset: 'orders',
        repository: 'local',
        sourceType: 'files',
      });
      await store.markSnapshotComplete(other.id, { resticSnapshotId: '3'.repeat(64) });

      assert.equal((await store.latestCompleteSnapshot('users'))?.id, newer.id);
      assert.equal((await store.latestCompleteSnapshot('orders'))?.id, other.id);
    }));

  test('latestVerification, and verifications outlive their snapshot', () =>
    withStore(async (store) => {
      assert.equal(await store.latestVerification('users'), undefined);
      const pending = await store.insertPendingSnapshot({
        dataset: 'users',
        repository: 'r',
        sourceType: 'postgres',
      });
      const snapshot = await store.markSnapshotComplete(pending.id, { resticSnapshotId: '9'.repeat(64) });
      const passed = await store.recordVerification({
        snapshotId: snapshot.id,
        dataset: 'users',
        startedAt: '2030-01-01T00:00:00.000Z',
        finishedAt: '2030-01-01T00:01:00.000Z',
        ok: true,
        details: { checks: [{ sql: 'select count(*) from users', value: 42 }] },
      });
      assert.equal(passed.ok, true);
      assert.equal(passed.error, null);
      const broke = await store.recordVerification({
        snapshotId: snapshot.id,
        dataset: 'users',
        startedAt: '2030-01-02T00:00:00.000Z',
        finishedAt: '2030-01-02T00:01:00.000Z',
        ok: false,
        error: 'restore failed: pg_restore exited 1',
      });
      assert.equal(broke.ok, false);
      assert.equal(broke.details, null);

      assert.deepEqual(await store.latestVerification('users'), broke);
      assert.deepEqual(await store.latestVerification('users', { ok: true }), passed);
      assert.deepEqual(await store.latestVerification('users', { ok: false }), broke);
      assert.equal(await store.latestVerification('orders'), undefined);

      await store.deleteSnapshotByResticId('9'.repeat(64));
      const kept = await store.latestVerification('users', { ok: true });
      assert.equal(kept?.id, passed.id);
      assert.equal(kept?.snapshotId, null);
    }));

  test('runs marked for forgetting are listed until cleared or deleted; verifications by point', () =>
    withStore(async (store) => {
      const ids = ['1', '2'].map((n) => n.repeat(64));
      const records = [];
      for (const resticSnapshotId of ids) {
        const pending = await store.insertPendingSnapshot({
          dataset: 'users',
          repository: 'r',
          sourceType: 'files',
        });
        records.push(await store.markSnapshotComplete(pending.id, { resticSnapshotId }));
      }
      assert.equal(records[0]!.forgettingSince, null);
      assert.equal(await store.markSnapshotsForgetting(ids), 2);
      assert.equal(await store.markSnapshotsForgetting(ids), 0, 'already marked');
      assert.deepEqual(
        (await store.listForgettingSnapshots('users')).map((r) => r.resticSnapshotId),
        ids,
      );
      await store.clearSnapshotForgetting(records[0]!.id);
      assert.equal(await store.deleteSnapshot(records[1]!.id), true);
      assert.deepEqual(await store.listForgettingSnapshots('users'), []);

      for (const [finishedAt, ok] of [
        ['2030-01-01T00:00:00.000Z', false],
        ['2030-01-02T00:00:00.000Z', true],
      ] as const)
        await store.recordVerification({
          snapshotId: records[0]!.id,
          dataset: 'users',
          startedAt: finishedAt,
          finishedAt,
          ok,
        });
      assert.equal((await store.latestVerification('users', { snapshotId: records[0]!.id }))?.ok, true);
      assert.deepEqual(
        (await store.listVerifications('users')).map((v) => v.ok),
        [true, false],
      );
    }));

  test('a lease is held until it expires or is released, and only its token renews it', () =>
    withStore(async (store) => {
      const input = { name: 'scheduler:t', hostname: 'h1', pid: 10, description: 'first', ttlMs: 200 };
      const first = await store.acquireLease(input);
      assert.ok(first.acquired);
      const second = await store.acquireLease({ ...input, hostname: 'h2', description: 'second' });
      assert.ok(!second.acquired);
      assert.equal(second.holder.description, 'first');
      assert.equal(
        (await store.acquireLease({ ...input, description: 'third' }, (holder) => holder.pid === 10))
          .acquired,
        true,
        'a holder said to be gone is replaced',
      );
      assert.equal(await store.renewLease('scheduler:t', first.lease.token, 200), undefined);
      await new Promise((r) => setTimeout(r, 250));
      const after = await store.acquireLease({ ...input, description: 'fourth' });
      assert.ok(after.acquired, 'an expired lease is free');
      assert.equal(await store.releaseLease('scheduler:t', first.lease.token), false);
      assert.equal(await store.releaseLease('scheduler:t', after.lease.token), true);
    }));

  test('the audit log appends, and lists newest first', () =>
    withStore(async (store) => {
      const entries = [];
      for (const [action, target] of [
        ['backup.run', 'dataset:users'],
        ['backup.run', 'dataset:orders'],
        ['restore.run', 'dataset:users'],
      ] as const) {
        entries.push(
          await store.appendAudit({ actor: 'cli:alice', action, target, outcome: 'ok', details: { n: 1 } }),
        );
      }
      const refused = await store.appendAudit({
        actor: 'cli:bob',
        action: 'restore.run',
        outcome: 'refused',
      });
      assert.equal(refused.target, null);
      assert.equal(refused.details, null);
      assert.deepEqual(entries[0]?.details, { n: 1 });

      const all = await store.listAudit();
      assert.deepEqual(
        all.map((e) => e.id),
        [...entries, refused].map((e) => e.id).reverse(),
      );
      assert.deepEqual(
        (await store.listAudit({ target: 'dataset:users' })).map((e) => e.action),
        ['restore.run', 'backup.run'],
      );
      assert.deepEqual(
        (await store.listAudit({ action: 'restore.run', limit: 1 })).map((e) => e.id),
        [refused.id],
      );
    }));

  test('data persists across close and reopen', async () => {
    const options = await backend.fresh();
    const store = await openStateStore(options);
    const plan = await store.recordPlanVersion({ contentHash: 'd'.repeat(64), planPath: '/p/lifeboat.yaml' });
    const entry = await store.appendAudit({ actor: 'test', action: 'plan.check', outcome: 'ok' });
    await store.close();

    const reopened = await openStateStore(options);
    try {
      assert.deepEqual(await reopened.listAudit(), [entry]);
      const again = await reopened.recordPlanVersion({
        contentHash: 'd'.repeat(64),
        planPath: '/p/lifeboat.yaml',
      });
      assert.equal(again.id, plan.id);
    } finally {
      await reopened.close();
    }
  });

  test('close is idempotent', async () => {
    const store = await openStateStore(await backend.fresh());
    await Promise.all([store.close(), store.close()]);
    await store.close();
  });
}

describe('state store on SQLite', () => {
  const backend = sqliteBackend();
  suite(backend);

  test('a file that is not a database is an EnvironmentError with a hint', async () => {
    const options = await backend.fresh();
    mkdirSync(join(options.path!, '..'), { recursive: true });
    writeFileSync(
      options.path!,
      'this is not a database, just some text that is long enough to have a header',
    );
    await assert.rejects(openStateStore(options), (error: unknown) => {
      assert.ok(error instanceof EnvironmentError);
      assert.match(error.message, /cannot open the state store/);
      assert.match(error.hint ?? '', /not a SQLite database/);
      return true;
    });
  });

  test('a directory that cannot be created is an EnvironmentError', async () => {
    const options = await backend.fresh();
    mkdirSync(join(options.path!, '..'), { recursive: true });
    writeFileSync(join(options.path!, '..', 'file'), '');
    await assert.rejects(
      openStateStore({ path: join(options.path!, '..', 'file', 'sub', 'state.db'), env: {} }),
      EnvironmentError,
    );
  });
});

describe(
  'state store on PostgreSQL',
  { skip: process.env.LIFEBOAT_SKIP_PG === '1' && 'LIFEBOAT_SKIP_PG=1' },
  () => {
    const backend = postgresBackend();
    suite(backend);

    test('a database that does not exist is an EnvironmentError that says how to create it', async () => {
      const url = new URL(ADMIN_URL);
      url.pathname = '/lifeboat_no_such_database';
      await assert.rejects(openStateStore({ url: url.toString() }), (error: unknown) => {
        assert.ok(error instanceof EnvironmentError);
        assert.match(error.hint ?? '', /createdb lifeboat_no_such_database/);
        return true;
      });
    });
  },
);

describe('choosing and reaching the backend', () => {
  test('an unreachable server is an EnvironmentError that names host and port, never the password', async () => {
    const url = 'postgres://lifeboat:s3cret-pw@127.0.0.1:1/state?password=other-s3cret';
    await assert.rejects(openStateStore({ url }), (error: unknown) => {
      assert.ok(error instanceof EnvironmentError);
      assert.match(error.message, /127\.0\.0\.1:1/);
      assert.match(error.hint ?? '', /127\.0\.0\.1:1/);
      assert.doesNotMatch(JSON.stringify(error.toJSON()), /s3cret/);
      return true;
    });
  });

  test('LIFEBOAT_DATABASE_URL wins over the path', async () => {
    const env = { LIFEBOAT_DATABASE_URL: 'mysql://root@127.0.0.1/state' };
    await assert.rejects(openStateStore({ path: join(tmpdir(), 'unused.db'), env }), UsageError);
  });

  test('the migrations are numbered 1, 2, 3… and valid', () => {
    checkMigrations(migrations);
    assert.throws(() => checkMigrations([{ version: 2, name: 'gap', sql: '' }]), /expected 1/);
  });

  test('defaultStatePath is .lifeboat/state.db beside the plan', () => {
    assert.equal(defaultStatePath('/srv/dr/lifeboat.yaml'), '/srv/dr/.lifeboat/state.db');
  });

  test('redactUrl hides passwords', () => {
    assert.equal(redactUrl('postgres://u:pw@h:5432/db'), 'postgres://u:***@h:5432/db');
    assert.equal(
      redactUrl('postgres://u@h/db?password=pw&sslmode=require'),
      'postgres://u@h/db?password=***&sslmode=require',
    );
    assert.equal(redactUrl('not a url'), '(unparsable URL)');
  });

  test('toPostgresPlaceholders numbers ? outside quotes and comments', () => {
    assert.equal(
      toPostgresPlaceholders(`SELECT '?', "a?" FROM t -- why?\nWHERE a = ? AND b = ?`),
      `SELECT '?', "a?" FROM t -- why?\nWHERE a = $1 AND b = $2`,
    );
  });
});
