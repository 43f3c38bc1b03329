/**
 * The state store's schema: numbered, append-only migrations, the same SQL on SQLite and
 * PostgreSQL. Never edit or reorder a migration that has shipped; add the next one.
 *
 * The common dialect: TEXT, INTEGER and BIGINT columns; ids are UUIDs made in TypeScript
 * (no SERIAL/AUTOINCREMENT); timestamps are ISO-8601 UTC text from Date#toISOString, which
 * sorts as it reads; JSON is TEXT; booleans are INTEGER 0/1 with a CHECK. Kept in this file
 * rather than as .sql files so that the compiled dist needs no copy step.
 */
import { EnvironmentError, coerceError } from '../errors.js';
import type { Backend, Driver, SqlExecutor } from './driver.js';

export interface Migration {
  /** 1, 2, 3, … with no gaps. */
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'plan_versions',
    // One row per distinct plan content: backups, drills and incidents point at the plan
    // that was in force. plan_path is where the content was first seen.
    sql: `
      CREATE TABLE plan_versions (
        id TEXT PRIMARY KEY,
        content_hash TEXT NOT NULL UNIQUE,
        plan_path TEXT NOT NULL,
        organization TEXT,
        document_version TEXT,
        first_seen_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL
      );`,
  },
  {
    version: 2,
    name: 'snapshots',
    // One row per backup attempt, written 'pending' before restic runs so that a crash
    // leaves a trace. restic_snapshot_id is restic's full 64-hex id, known once it is done.
    sql: `
      CREATE TABLE snapshots (
        id TEXT PRIMARY KEY,
        dataset TEXT NOT NULL,
        repository TEXT NOT NULL,
        restic_snapshot_id TEXT UNIQUE,
        plan_version_id TEXT REFERENCES plan_versions (id) ON DELETE SET NULL,
        source_type TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'complete', 'failed')),
        started_at TEXT NOT NULL,
        finished_at TEXT,
        bytes_added BIGINT,
        total_bytes BIGINT,
        duration_ms BIGINT,
        fingerprint TEXT,
        error TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        CHECK (status = 'pending' OR finished_at IS NOT NULL),
        CHECK (status <> 'complete' OR restic_snapshot_id IS NOT NULL)
      );
      CREATE INDEX snapshots_by_dataset ON snapshots (dataset, started_at);
      CREATE INDEX snapshots_by_dataset_status ON snapshots (dataset, status, started_at);`,
  },
  {
    version: 3,
    name: 'verifications',
    // A verification outlives its snapshot (retention forgets snapshots; the proof that
    // restores were tested must stay), hence ON DELETE SET NULL and its own dataset column.
    sql: `
      CREATE TABLE verifications (
        id TEXT PRIMARY KEY,
        snapshot_id TEXT REFERENCES snapshots (id) ON DELETE SET NULL,
        dataset TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
        details TEXT,
        error TEXT
      );
      CREATE INDEX verifications_by_dataset ON verifications (dataset, ok, finished_at);
      CREATE INDEX verifications_by_snapshot ON verifications (snapshot_id);`,
  },
  {
    version: 4,
    name: 'audit_log',
    // Append-only: who did what to what, and how it ended. Never updated, never deleted.
    sql: `
      CREATE TABLE audit_log (
        id TEXT PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        details TEXT,
        outcome TEXT NOT NULL
      );
      CREATE INDEX audit_log_by_time ON audit_log (at);
      CREATE INDEX audit_log_by_target ON audit_log (target, at);`,
  },
  {
    version: 5,
    name: 'snapshot_run_units',
    // A recovery point is one backup run: several restic snapshots (one per database, the
    // files...) closed by a manifest. run_id groups them; units lists them for restores.
    sql: `
      ALTER TABLE snapshots ADD COLUMN run_id TEXT;
      ALTER TABLE snapshots ADD COLUMN units TEXT;
      CREATE INDEX snapshots_by_run ON snapshots (run_id);`,
  },
  {
    version: 6,
    name: 'snapshot_forgetting',
    // Prune marks the runs it is about to forget, so that a prune cut off between restic's
    // forget and the state store's delete leaves a trace the next command can resolve.
    sql: `ALTER TABLE snapshots ADD COLUMN forgetting_since TEXT;`,
  },
  {
    version: 7,
    name: 'leases',
    // One holder of a role (the scheduler of a plan) per state store, across hosts: a row
    // renewed while its holder lives, free to take once expires_at has passed.
    sql: `
      CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        hostname TEXT NOT NULL,
        pid INTEGER NOT NULL,
        process_start TEXT,
        description TEXT NOT NULL,
        acquired_at TEXT NOT NULL,
        renewed_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );`,
  },
  {
    version: 8,
    name: 'probe_results',
    // Probe checks, compact: epoch-ms integers, a message only for failures. Raw rows live a
    // day; probe_rollups keeps per-minute (span 60000, two days) and per-hour (span 3600000)
    // sums with a latency histogram, so that a p95 can be estimated over any window;
    // probe_rollup_marks says up to where each span has been rolled.
    sql: `
      CREATE TABLE probe_results (
        probe TEXT NOT NULL,
        at BIGINT NOT NULL,
        ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
        latency_ms INTEGER NOT NULL,
        message TEXT
      );
      CREATE INDEX probe_results_by_time ON probe_results (at);
      CREATE TABLE probe_rollups (
        probe TEXT NOT NULL,
        span_ms INTEGER NOT NULL,
        start_at BIGINT NOT NULL,
        checks INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        latency_sum_ms BIGINT NOT NULL,
        p95_ms INTEGER NOT NULL,
        histogram TEXT NOT NULL,
        PRIMARY KEY (probe, span_ms, start_at)
      );
      CREATE INDEX probe_rollups_by_time ON probe_rollups (span_ms, start_at);
      CREATE TABLE probe_rollup_marks (
        span_ms INTEGER PRIMARY KEY,
        rolled_until BIGINT NOT NULL
      );`,
  },
  {
    version: 9,
    name: 'outbox',
    // Notifications are written here before anyone tries to send them, so that a crash loses
    // none. idempotency_key is unique: enqueueing the same notification twice keeps one row,
    // and the provider sees the same key when a send is retried after a crash. A worker owns
    // a row while lease_expires_at is ahead; the attempts table is the delivery log.
    sql: `
      CREATE TABLE outbox_messages (
        id TEXT PRIMARY KEY,
        idempotency_key TEXT NOT NULL UNIQUE,
        channel TEXT NOT NULL,
        address TEXT,
        fallback_channel TEXT,
        fallback_address TEXT,
        fallback_key TEXT,
        on_fallback INTEGER NOT NULL DEFAULT 0 CHECK (on_fallback IN (0, 1)),
        message TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        lease_token TEXT,
        lease_expires_at TEXT,
        created_at TEXT NOT NULL,
        delivered_at TEXT,
        provider_id TEXT,
        last_error TEXT
      );
      CREATE INDEX outbox_messages_due ON outbox_messages (status, next_attempt_at);
      CREATE TABLE outbox_attempts (
        id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL REFERENCES outbox_messages (id) ON DELETE CASCADE,
        channel TEXT NOT NULL,
        address TEXT,
        idempotency_key TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        status_code INTEGER,
        error TEXT,
        retry_after_ms BIGINT
      );
      CREATE INDEX outbox_attempts_by_message ON outbox_attempts (message_id, started_at);`,
  },
  {
    version: 10,
    name: 'incidents_and_api_tokens',
    // Incidents and their timeline (one row per status change or message, never edited), and
    // the bearer tokens of the HTTP API, kept as SHA-256 hashes only (see incidents-store.ts).
    sql: `
      CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
        impact TEXT NOT NULL CHECK (impact IN ('none', 'minor', 'major', 'critical')),
        severity TEXT,
        services TEXT NOT NULL DEFAULT '[]',
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        resolved_at TEXT,
        CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
      );
      CREATE INDEX incidents_by_time ON incidents (created_at);
      CREATE INDEX incidents_open ON incidents (resolved_at);
      CREATE TABLE incident_updates (
        id TEXT PRIMARY KEY,
        incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        status TEXT NOT NULL,
        message TEXT NOT NULL,
        actor TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX incident_updates_by_incident ON incident_updates (incident_id, created_at);
      CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'responder', 'admin')),
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        last_used_at TEXT,
        revoked_at TEXT
      );`,
  },
];

const CREATE_SCHEMA_MIGRATIONS = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`;

/** Fixed forever: the key of the PostgreSQL advisory lock that serializes migrations. */
const MIGRATION_LOCK_KEY = 7_143_021_905;

/** Throws if the list is not 1, 2, 3, … — a mistake in this file, caught by the tests. */
export function checkMigrations(list: readonly Migration[]): void {
  list.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migration #${index} has version ${migration.version}, expected ${index + 1}`);
    }
  });
}

/**
 * Takes the migration lock inside the current transaction. SQLite needs nothing more: the
 * driver began the transaction with BEGIN IMMEDIATE, which already holds the write lock.
 * On PostgreSQL two processes could otherwise both create schema_migrations, or both apply
 * the same migration; the lock is released with the transaction.
 */
async function lock(driver: Driver, tx: SqlExecutor): Promise<void> {
  const serialize = MIGRATION_LOCK[driver.backend];
  if (serialize !== undefined) await tx.query(serialize);
  await tx.exec(CREATE_SCHEMA_MIGRATIONS);
}

/** What each backend runs to hold the migration lock for the rest of the transaction. */
const MIGRATION_LOCK: Record<Backend, string | undefined> = {
  sqlite: undefined,
  postgres: `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`,
};

async function currentVersion(tx: SqlExecutor): Promise<number> {
  const rows = await tx.query('SELECT max(version) AS version FROM schema_migrations');
  return Number(rows[0]?.version ?? 0);
}

export interface MigrationResult {
  /** The schema version now. */
  version: number;
  /** The versions this call applied; empty when the schema was up to date. */
  applied: number[];
}

/**
 * Brings the schema up to date: each pending migration in its own transaction, with the
 * version re-read under the lock, so that concurrent callers apply each migration once.
 */
export async function migrate(
  driver: Driver,
  list: readonly Migration[] = migrations,
): Promise<MigrationResult> {
  checkMigrations(list);
  const latest = list.length;
  const start = await driver.transaction(async (tx) => {
    await lock(driver, tx);
    return currentVersion(tx);
  });
  if (start > latest) {
    throw new EnvironmentError(
      `the state store ${driver.location} is at schema version ${start}, newer than this Lifeboat knows (${latest})`,
      {
        hint: 'a newer Lifeboat has used this state store: upgrade Lifeboat',
        details: { version: start, latest },
      },
    );
  }
  const applied: number[] = [];
  for (const migration of list.slice(start)) {
    await driver.transaction(async (tx) => {
      await lock(driver, tx);
      if ((await currentVersion(tx)) >= migration.version) return; // another process applied it
      try {
        await tx.exec(migration.sql);
      } catch (error) {
        throw new Error(
          `state store migration ${migration.version} (${migration.name}) failed on ${driver.backend}: ${coerceError(error).message}`,
          { cause: error },
        );
      }
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        new Date().toISOString(),
      ]);
      applied.push(migration.version);
    });
  }
  return { version: latest, applied };
}
