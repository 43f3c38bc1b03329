/** What callers pass to the state store; the records it returns are in records.ts. */
import type { JsonObject } from './records.js';

export interface PlanVersionInput {
  contentHash: string;
  planPath: string;
  organization?: string | null;
  documentVersion?: string | null;
}

export interface PendingSnapshotInput {
  dataset: string;
  repository: string;
  sourceType: string;
  planVersionId?: string | null;
  tags?: string[];
  runId?: string | null;
  /** Default: now. */
  startedAt?: string;
}

export interface SnapshotCompletion {
  resticSnapshotId: string;
  bytesAdded?: number | null;
  totalBytes?: number | null;
  fingerprint?: JsonObject | null;
  units?: JsonObject[] | null;
  /** Default: now. */
  finishedAt?: string;
  /** Default: finishedAt − startedAt. */
  durationMs?: number;
}

export interface SnapshotFailure {
  error: string;
  /** Default: now. */
  finishedAt?: string;
  /** Default: finishedAt − startedAt. */
  durationMs?: number;
}

export interface VerificationInput {
  snapshotId: string | null;
  dataset: string;
  startedAt: string;
  ok: boolean;
  details?: JsonObject | null;
  error?: string | null;
  /** Default: now. */
  finishedAt?: string;
}

export interface AuditInput {
  actor: string;
  action: string;
  target?: string | null;
  details?: JsonObject | null;
  outcome: string;
  /** Default: now. */
  at?: string;
}

export interface AppliedMigration {
  version: number;
  name: string;
  appliedAt: string;
}

export interface LeaseInput {
  name: string;
  hostname: string;
  pid: number;
  processStart?: string | null;
  description: string;
  /** How long the lease holds without a renewal. */
  ttlMs: number;
}
