/**
 * The state store's record types and the one place where they meet the columns: a record
 * field `fooBar` is the column `foo_bar`, each column is read back by a checked reader, and
 * values are written as SQL values (JSON as text, booleans as 0/1). Timestamps stay
 * ISO-8601 UTC strings, as stored, so records print as JSON unchanged.
 */
import type { Row, SqlValue } from './driver.js';

export type JsonObject = Record<string, unknown>;

export interface PlanVersionRecord {
  id: string;
  /** sha256 of the plan file's bytes (LoadedPlan.contentHash). */
  contentHash: string;
  /** Where this content was first seen. */
  planPath: string;
  organization: string | null;
  /** `document.version` of the plan, as text. */
  documentVersion: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
}

export type SnapshotStatus = 'pending' | 'complete' | 'failed';
export const SNAPSHOT_STATUSES: readonly SnapshotStatus[] = ['pending', 'complete', 'failed'];

export interface SnapshotRecord {
  id: string;
  dataset: string;
  /** The plan's repository id. */
  repository: string;
  /** restic's full snapshot id; null until complete (and for a failed backup). */
  resticSnapshotId: string | null;
  planVersionId: string | null;
  /** The dataset's source type: postgres, mariadb, redis, files… */
  sourceType: string;
  status: SnapshotStatus;
  startedAt: string;
  finishedAt: string | null;
  bytesAdded: number | null;
  totalBytes: number | null;
  durationMs: number | null;
  /** What the data looked like when backed up (row counts, checksums), to compare a restore with. */
  fingerprint: JsonObject | null;
  error: string | null;
  tags: string[];
  /** The backup run this recovery point closes (see protect/tags). */
  runId: string | null;
  /** The run's unit snapshots, as listed by its manifest. */
  units: JsonObject[] | null;
  /**
   * Set by prune just before it forgets the run in the repository, cleared never: the record
   * is deleted once restic has forgotten it. Still set on a later command means that prune
   * was cut off in between, and the repository says whether the run is gone.
   */
  forgettingSince: string | null;
}

export interface VerificationRecord {
  id: string;
  /** Null once retention has deleted the snapshot: the verification is kept. */
  snapshotId: string | null;
  dataset: string;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  details: JsonObject | null;
  error: string | null;
}

/** Who holds an exclusive role (one scheduler per plan) until when, unless it renews. */
export interface LeaseRecord {
  name: string;
  /** Random: proves ownership when renewing or releasing. */
  token: string;
  hostname: string;
  pid: number;
  /** Start time of the holder's process (see restic/lock.ts), to tell a reused pid apart. */
  processStart: string | null;
  /** What the holder is, for people: `lifeboat run --plan /etc/lifeboat/plan.yaml`. */
  description: string;
  acquiredAt: string;
  renewedAt: string;
  expiresAt: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  /** Who acted: a user name, `cli:<user>@<host>`, `scheduler`… */
  actor: string;
  /** What was done, dotted: `backup.run`, `restore.run`, `plan.check`… */
  action: string;
  /** What it was done to: `dataset:users`, `repository:offsite`… */
  target: string | null;
  details: JsonObject | null;
  /** How it ended: `ok`, `failed`, `refused`, `interrupted`… */
  outcome: string;
}

// ---------------------------------------------------------------------------------------------
// Reading rows

type Reader<T> = (value: unknown, column: string) => T;
type Columns<R> = { [K in keyof R]-?: Reader<R[K]> };

function unexpected(column: string, value: unknown, expected: string): Error {
  // A bug or a damaged database, never the user's input: a plain Error.
  return new Error(`state store column ${column} holds ${JSON.stringify(value)}, expected ${expected}`);
}

const text: Reader<string> = (value, column) => {
  if (typeof value === 'string') return value;
  throw unexpected(column, value, 'text');
};

const nullable =
  <T>(read: Reader<T>): Reader<T | null> =>
  (value, column) =>
    value === null || value === undefined ? null : read(value, column);

const integer: Reader<number> = (value, column) => {
  // pg returns BIGINT as text unless told otherwise; accept both forms.
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n)) return n;
  if (typeof n === 'bigint') return Number(n);
  throw unexpected(column, value, 'an integer');
};

const boolean: Reader<boolean> = (value, column) => {
  if (value === 1 || value === true) return true;
  if (value === 0 || value === false) return false;
  throw unexpected(column, value, '0 or 1');
};

const jsonObject: Reader<JsonObject> = (value, column) => {
  const parsed: unknown = JSON.parse(text(value, column));
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as JsonObject;
  throw unexpected(column, value, 'a JSON object');
};

const stringArray: Reader<string[]> = (value, column) => {
  const parsed: unknown = JSON.parse(text(value, column));
  if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed;
  throw unexpected(column, value, 'a JSON array of strings');
};

const objectArray: Reader<JsonObject[]> = (value, column) => {
  const parsed: unknown = JSON.parse(text(value, column));
  if (Array.isArray(parsed) && parsed.every((item) => item !== null && typeof item === 'object'))
    return parsed as JsonObject[];
  throw unexpected(column, value, 'a JSON array of objects');
};

const snapshotStatus: Reader<SnapshotStatus> = (value, column) => {
  const status = SNAPSHOT_STATUSES.find((s) => s === value);
  if (status) return status;
  throw unexpected(column, value, SNAPSHOT_STATUSES.join(' | '));
};

const planVersionColumns: Columns<PlanVersionRecord> = {
  id: text,
  contentHash: text,
  planPath: text,
  organization: nullable(text),
  documentVersion: nullable(text),
  firstSeenAt: text,
  lastSeenAt: text,
};

const snapshotColumns: Columns<SnapshotRecord> = {
  id: text,
  dataset: text,
  repository: text,
  resticSnapshotId: nullable(text),
  planVersionId: nullable(text),
  sourceType: text,
  status: snapshotStatus,
  startedAt: text,
  finishedAt: nullable(text),
  bytesAdded: nullable(integer),
  totalBytes: nullable(integer),
  durationMs: nullable(integer),
  fingerprint: nullable(jsonObject),
  error: nullable(text),
  tags: stringArray,
  runId: nullable(text),
  units: nullable(objectArray),
  forgettingSince: nullable(text),
};

const verificationColumns: Columns<VerificationRecord> = {
  id: text,
  snapshotId: nullable(text),
  dataset: text,
  startedAt: text,
  finishedAt: text,
  ok: boolean,
  details: nullable(jsonObject),
  error: nullable(text),
};

const leaseColumns: Columns<LeaseRecord> = {
  name: text,
  token: text,
  hostname: text,
  pid: integer,
  processStart: nullable(text),
  description: text,
  acquiredAt: text,
  renewedAt: text,
  expiresAt: text,
};

const auditColumns: Columns<AuditEntry> = {
  id: text,
  at: text,
  actor: text,
  action: text,
  target: nullable(text),
  details: nullable(jsonObject),
  outcome: text,
};

/** `resticSnapshotId` → `restic_snapshot_id`. */
export function columnName(field: string): string {
  // Fields become SQL identifiers: only ever the record types' own names.
  if (!/^[a-z][a-zA-Z]*$/.test(field))
    throw new Error(`state store: ${JSON.stringify(field)} is not a field name`);
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function reader<R>(columns: Columns<R>): (row: Row) => R {
  const fields = Object.entries(columns) as [keyof R & string, Reader<unknown>][];
  const named = fields.map(([field, read]) => [field, columnName(field), read] as const);
  return (row) => {
    const record: Partial<Record<keyof R, unknown>> = {};
    for (const [field, column, read] of named) record[field] = read(row[column], column);
    return record as R;
  };
}

export const readPlanVersion = reader(planVersionColumns);
export const readSnapshot = reader(snapshotColumns);
export const readVerification = reader(verificationColumns);
export const readAuditEntry = reader(auditColumns);
export const readLease = reader(leaseColumns);

// ---------------------------------------------------------------------------------------------
// Writing values

export function toSqlValue(value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' || typeof value === 'number') return value;
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/** A record's fields (camelCase) as columns and SQL values, in the same order. */
export function toColumns(fields: Record<string, unknown>): { columns: string[]; values: SqlValue[] } {
  const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
  return {
    columns: entries.map(([field]) => columnName(field)),
    values: entries.map(([, v]) => toSqlValue(v)),
  };
}
