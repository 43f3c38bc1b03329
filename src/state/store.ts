/**
 * Lifeboat's own records: the plan versions it has seen, backups (snapshots), verifications
 * and the audit log. Embedded SQLite by default (nothing to install or start); a PostgreSQL
 * database when LIFEBOAT_DATABASE_URL is set. This is the only module that writes SQL for
 * them; the backends (sqlite.ts, postgres.ts) only run it.
 */
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import type { Backend, Driver, Row, SqlExecutor, SqlValue } from './driver.js';
import type {
  AppliedMigration,
  AuditInput,
  LeaseInput,
  PendingSnapshotInput,
  PlanVersionInput,
  SnapshotCompletion,
  SnapshotFailure,
  VerificationInput,
} from './inputs.js';
import { createIncidentsStore, type IncidentsStore } from './incidents-store.js';
import { migrate } from './migrations.js';
import { createProbesStore, type ProbesStore } from './probes-store.js';
import { createOutboxStore, type OutboxStore } from './outbox-store.js';
import {
  readAuditEntry,
  readLease,
  readPlanVersion,
  readSnapshot,
  readVerification,
  toColumns,
  type AuditEntry,
  type LeaseRecord,
  type PlanVersionRecord,
  type SnapshotRecord,
  type SnapshotStatus,
  type VerificationRecord,
} from './records.js';

export type {
  AuditEntry,
  JsonObject,
  LeaseRecord,
  PlanVersionRecord,
  SnapshotRecord,
  SnapshotStatus,
  VerificationRecord,
} from './records.js';
export type { Backend } from './driver.js';
export type * from './inputs.js';

export interface StateStore {
  readonly backend: Backend;
  /** The file path, or the URL with its password hidden: safe to print. */
  readonly location: string;
  /** Probe results and their rollups (probes-store.ts). */
  readonly probes: ProbesStore;
  appliedMigrations(): Promise<AppliedMigration[]>;
  /** Incidents, their timeline and the HTTP API's tokens (incidents-store.ts). */
  readonly incidents: IncidentsStore;

  /** Inserts the plan version, or only moves `lastSeenAt` if this content hash is known. */
  recordPlanVersion(input: PlanVersionInput): Promise<PlanVersionRecord>;

  /** Records a backup about to start, as `pending`. */
  insertPendingSnapshot(input: PendingSnapshotInput): Promise<SnapshotRecord>;
  /** Throws if the snapshot does not exist or is not pending. */
  markSnapshotComplete(id: string, result: SnapshotCompletion): Promise<SnapshotRecord>;
  /** Throws if the snapshot does not exist or is not pending. */
  markSnapshotFailed(id: string, failure: SnapshotFailure): Promise<SnapshotRecord>;
  getSnapshot(id: string): Promise<SnapshotRecord | undefined>;
  /** Newest first (by start time). Default limit: 100. */
  listSnapshots(
    dataset: string,
    options?: { status?: SnapshotStatus; limit?: number },
  ): Promise<SnapshotRecord[]>;
  /** The complete snapshot that started last: the dataset's recovery point. */
  latestCompleteSnapshot(dataset: string): Promise<SnapshotRecord | undefined>;
  /**
   * Whether a complete snapshot record names this repository id: it then held a recovery
   * point. (A backup records its pending snapshot before it opens the repository.)
   */
  hasSnapshotsIn(repository: string): Promise<boolean>;
  /** By restic's full snapshot id, after retention forgot it. Verifications are kept. */
  deleteSnapshotByResticId(resticSnapshotId: string): Promise<boolean>;
  /** By the record's id: a record that stands for nothing in the repository. Verifications are kept. */
  deleteSnapshot(id: string): Promise<boolean>;
  /** Marks the records of these restic ids as about to be forgotten (see SnapshotRecord.forgettingSince). */
  markSnapshotsForgetting(resticSnapshotIds: readonly string[]): Promise<number>;
  /** The forget did not happen after all: the record is a recovery point again. */
  clearSnapshotForgetting(id: string): Promise<void>;
  /** Records a prune marked and did not finish with, oldest first. */
  listForgettingSnapshots(dataset: string): Promise<SnapshotRecord[]>;

  recordVerification(input: VerificationInput): Promise<VerificationRecord>;
  /**
   * The one that finished last; `{ ok: true }` for the last that passed, `{ snapshotId }`
   * for the last of one recovery point (a snapshot record's id).
   */
  latestVerification(
    dataset: string,
    options?: { ok?: boolean; snapshotId?: string },
  ): Promise<VerificationRecord | undefined>;
  /** Newest first (by finish time). Default limit: 1000. */
  listVerifications(dataset: string, options?: { limit?: number }): Promise<VerificationRecord[]>;

  /**
   * Takes the lease `input.name` when it is free, expired, or held by a holder that
   * `abandoned` says is gone; otherwise returns who holds it. Atomic across processes.
   */
  acquireLease(
    input: LeaseInput,
    abandoned?: (holder: LeaseRecord) => boolean,
  ): Promise<{ acquired: true; lease: LeaseRecord } | { acquired: false; holder: LeaseRecord }>;
  /** Moves the expiry on; undefined when the lease is no longer this token's (it expired and was taken). */
  renewLease(name: string, token: string, ttlMs: number): Promise<LeaseRecord | undefined>;
  /** Frees the lease if this token still holds it. */
  releaseLease(name: string, token: string): Promise<boolean>;

  /** Notifications waiting to be sent, and the log of every attempt to send them. */
  readonly outbox: OutboxStore;

  appendAudit(entry: AuditInput): Promise<AuditEntry>;
  /** Newest first. Default limit: 50. `since`: ISO time, entries at or after it. */
  listAudit(options?: {
    action?: string;
    target?: string;
    limit?: number;
    since?: string;
  }): Promise<AuditEntry[]>;

  /** Idempotent. */
  close(): Promise<void>;
}

export interface StateStoreOptions {
  /** SQLite file. Default: `.lifeboat/state.db` in the current directory; see defaultStatePath. */
  path?: string;
  /** A postgres:// URL. Default: $LIFEBOAT_DATABASE_URL; when neither is set, SQLite is used. */
  url?: string;
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

/** The state store that belongs to a plan: `.lifeboat/state.db` beside the plan file. */
export function defaultStatePath(planFile: string): string {
  return join(dirname(resolve(planFile)), '.lifeboat', 'state.db');
}

/**
 * Opens the store and brings its schema up to date. The URL (option, then
 * $LIFEBOAT_DATABASE_URL) wins over the path, so that setting the variable moves every
 * command to PostgreSQL even though the CLI always passes the plan's path.
 * Throws EnvironmentError when the database cannot be opened or reached.
 */
export async function openStateStore(options: StateStoreOptions = {}): Promise<StateStore> {
  const env = options.env ?? process.env;
  const url = options.url || env.LIFEBOAT_DATABASE_URL || undefined;
  // Loaded on demand: a PostgreSQL user needs no native SQLite module, and the reverse.
  const driver = url
    ? await (await import('./postgres.js')).openPostgresDriver(url)
    : await (await import('./sqlite.js')).openSqliteDriver(options.path ?? join('.lifeboat', 'state.db'));
  try {
    await migrate(driver);
  } catch (error) {
    await driver.close();
    throw error;
  }
  return createStore(driver);
}

let lastTimestamp = 0;
/**
 * Now, as ISO text, strictly increasing within the process: two events in the same
 * millisecond still sort in the order they happened ("newest first" stays true).
 */
function now(): string {
  lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
  return new Date(lastTimestamp).toISOString();
}

function first(rows: Row[], what: string): Row {
  const row = rows[0];
  if (!row) throw new Error(`state store: ${what} returned no row`);
  return row;
}

async function insert(tx: SqlExecutor, table: string, fields: Record<string, unknown>): Promise<Row> {
  const { columns, values } = toColumns(fields);
  const sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) RETURNING *`;
  return first(await tx.query(sql, values), `insert into ${table}`);
}

/** `WHERE a = ? AND b = ?` from the filters that are set. */
function where(filters: Record<string, unknown>): { sql: string; values: SqlValue[] } {
  const { columns, values } = toColumns(filters);
  return { sql: columns.length ? `WHERE ${columns.map((c) => `${c} = ?`).join(' AND ')}` : '', values };
}

function limit(value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`state store: limit must be a positive integer, not ${n}`);
  return n;
}

function createStore(driver: Driver): StateStore {
  async function getSnapshot(tx: SqlExecutor, id: string): Promise<SnapshotRecord | undefined> {
    const row = (await tx.query('SELECT * FROM snapshots WHERE id = ?', [id]))[0];
    return row && readSnapshot(row);
  }

  function finishSnapshot(
    id: string,
    status: 'complete' | 'failed',
    timing: { finishedAt?: string; durationMs?: number },
    fields: Record<string, unknown>,
  ): Promise<SnapshotRecord> {
    return driver.transaction(async (tx) => {
      const snapshot = await getSnapshot(tx, id);
      if (!snapshot) throw new Error(`state store: no snapshot ${id}`);
      if (snapshot.status !== 'pending')
        throw new Error(`state store: snapshot ${id} is ${snapshot.status}, not pending`);
      const finishedAt = timing.finishedAt ?? now();
      const durationMs =
        timing.durationMs ?? Math.max(0, Date.parse(finishedAt) - Date.parse(snapshot.startedAt));
      const { columns, values } = toColumns({ ...fields, status, finishedAt, durationMs });
      const sql = `UPDATE snapshots SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE id = ? RETURNING *`;
      return readSnapshot(first(await tx.query(sql, [...values, id]), 'update snapshot'));
    });
  }

  let closing: Promise<void> | undefined;
  return {
    backend: driver.backend,
    location: driver.location,
    probes: createProbesStore(driver),
    outbox: createOutboxStore(driver),
    incidents: createIncidentsStore(driver),

    async appliedMigrations() {
      const rows = await driver.query(
        'SELECT version, name, applied_at FROM schema_migrations ORDER BY version',
      );
      return rows.map((row) => ({
        version: Number(row.version),
        name: String(row.name),
        appliedAt: String(row.applied_at),
      }));
    },

    async recordPlanVersion(input) {
      const at = now();
      const { columns, values } = toColumns({
        id: randomUUID(),
        contentHash: input.contentHash,
        planPath: input.planPath,
        organization: input.organization ?? null,
        documentVersion: input.documentVersion ?? null,
        firstSeenAt: at,
        lastSeenAt: at,
      });
      const sql =
        `INSERT INTO plan_versions (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ` +
        'ON CONFLICT (content_hash) DO UPDATE SET last_seen_at = excluded.last_seen_at RETURNING *';
      return readPlanVersion(first(await driver.query(sql, values), 'record plan version'));
    },

    async insertPendingSnapshot(input) {
      const row = await insert(driver, 'snapshots', {
        id: randomUUID(),
        dataset: input.dataset,
        repository: input.repository,
        planVersionId: input.planVersionId ?? null,
        sourceType: input.sourceType,
        runId: input.runId ?? null,
        status: 'pending',
        startedAt: input.startedAt ?? now(),
        tags: input.tags ?? [],
      });
      return readSnapshot(row);
    },

    markSnapshotComplete: (id, result) =>
      finishSnapshot(id, 'complete', result, {
        resticSnapshotId: result.resticSnapshotId,
        bytesAdded: result.bytesAdded ?? null,
        totalBytes: result.totalBytes ?? null,
        fingerprint: result.fingerprint ?? null,
        units: result.units ?? null,
      }),
    markSnapshotFailed: (id, failure) => finishSnapshot(id, 'failed', failure, { error: failure.error }),
    getSnapshot: (id) => getSnapshot(driver, id),

    async listSnapshots(dataset, options = {}) {
      const filter = where({ dataset, status: options.status });
      const sql = `SELECT * FROM snapshots ${filter.sql} ORDER BY started_at DESC, id DESC LIMIT ?`;
      const rows = await driver.query(sql, [...filter.values, limit(options.limit, 100)]);
      return rows.map(readSnapshot);
    },

    async latestCompleteSnapshot(dataset) {
      const sql = `SELECT * FROM snapshots WHERE dataset = ? AND status = 'complete' ORDER BY started_at DESC, id DESC LIMIT 1`;
      const row = (await driver.query(sql, [dataset]))[0];
      return row && readSnapshot(row);
    },

    async hasSnapshotsIn(repository) {
      return (
        (
          await driver.query("SELECT 1 FROM snapshots WHERE repository = ? AND status = 'complete' LIMIT 1", [
            repository,
          ])
        ).length > 0
      );
    },

    async deleteSnapshotByResticId(resticSnapshotId) {
      return (await driver.run('DELETE FROM snapshots WHERE restic_snapshot_id = ?', [resticSnapshotId])) > 0;
    },

    async deleteSnapshot(id) {
      return (await driver.run('DELETE FROM snapshots WHERE id = ?', [id])) > 0;
    },

    async markSnapshotsForgetting(resticSnapshotIds) {
      if (resticSnapshotIds.length === 0) return 0;
      const at = now();
      return driver.transaction(async (tx) => {
        let marked = 0;
        for (const id of resticSnapshotIds)
          marked += await tx.run(
            'UPDATE snapshots SET forgetting_since = ? WHERE restic_snapshot_id = ? AND forgetting_since IS NULL',
            [at, id],
          );
        return marked;
      });
    },

    async clearSnapshotForgetting(id) {
      await driver.run('UPDATE snapshots SET forgetting_since = NULL WHERE id = ?', [id]);
    },

    async listForgettingSnapshots(dataset) {
      const sql =
        'SELECT * FROM snapshots WHERE dataset = ? AND forgetting_since IS NOT NULL ORDER BY started_at, id';
      return (await driver.query(sql, [dataset])).map(readSnapshot);
    },

    async recordVerification(input) {
      const row = await insert(driver, 'verifications', {
        id: randomUUID(),
        snapshotId: input.snapshotId,
        dataset: input.dataset,
        startedAt: input.startedAt,
        finishedAt: input.finishedAt ?? now(),
        ok: input.ok,
        details: input.details ?? null,
        error: input.error ?? null,
      });
      return readVerification(row);
    },

    async latestVerification(dataset, options = {}) {
      const filter = where({ dataset, ok: options.ok, snapshotId: options.snapshotId });
      const sql = `SELECT * FROM verifications ${filter.sql} ORDER BY finished_at DESC, id DESC LIMIT 1`;
      const row = (await driver.query(sql, filter.values))[0];
      return row && readVerification(row);
    },

    async listVerifications(dataset, options = {}) {
      const sql = 'SELECT * FROM verifications WHERE dataset = ? ORDER BY finished_at DESC, id DESC LIMIT ?';
      const rows = await driver.query(sql, [dataset, limit(options.limit, 1000)]);
      return rows.map(readVerification);
    },

    acquireLease: (input, abandoned = () => false) =>
      driver.transaction(async (tx) => {
        const at = now();
        const current = (await tx.query('SELECT * FROM leases WHERE name = ?', [input.name]))[0];
        const holder = current && readLease(current);
        if (holder && holder.expiresAt > at && !abandoned(holder))
          return { acquired: false, holder } as const;
        if (holder) await tx.run('DELETE FROM leases WHERE name = ?', [input.name]);
        const row = await insert(tx, 'leases', {
          name: input.name,
          token: randomUUID(),
          hostname: input.hostname,
          pid: input.pid,
          processStart: input.processStart ?? null,
          description: input.description,
          acquiredAt: at,
          renewedAt: at,
          expiresAt: new Date(Date.parse(at) + input.ttlMs).toISOString(),
        });
        return { acquired: true, lease: readLease(row) } as const;
      }),

    async renewLease(name, token, ttlMs) {
      const at = now();
      const sql = 'UPDATE leases SET renewed_at = ?, expires_at = ? WHERE name = ? AND token = ? RETURNING *';
      const expires = new Date(Date.parse(at) + ttlMs).toISOString();
      const row = (await driver.query(sql, [at, expires, name, token]))[0];
      return row && readLease(row);
    },

    async releaseLease(name, token) {
      return (await driver.run('DELETE FROM leases WHERE name = ? AND token = ?', [name, token])) > 0;
    },

    async appendAudit(entry) {
      const row = await insert(driver, 'audit_log', {
        id: randomUUID(),
        at: entry.at ?? now(),
        actor: entry.actor,
        action: entry.action,
        target: entry.target ?? null,
        details: entry.details ?? null,
        outcome: entry.outcome,
      });
      return readAuditEntry(row);
    },

    async listAudit(options = {}) {
      const filter = where({ action: options.action, target: options.target });
      // Timestamps are ISO 8601 UTC text: they compare as they sort.
      const since = options.since === undefined ? '' : `${filter.sql ? ' AND' : 'WHERE'} at >= ?`;
      const sql = `SELECT * FROM audit_log ${filter.sql}${since} ORDER BY at DESC, id DESC LIMIT ?`;
      const rows = await driver.query(sql, [
        ...filter.values,
        ...(options.since === undefined ? [] : [options.since]),
        limit(options.limit, 50),
      ]);
      return rows.map(readAuditEntry);
    },

    close: () => (closing ??= driver.close()),
  };
}
