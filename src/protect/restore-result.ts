/** What a restore reports: its events while it runs, and its result with the proof. */
import type { CheckResult } from './checks.js';

export type RestoreEvent =
  | { type: 'unit-start'; unit: string; into: string }
  | { type: 'progress'; unit: string; bytesDone: number; totalBytes: number; secondsElapsed: number }
  | { type: 'unit-done'; unit: string; bytes: number; seconds: number; note?: string }
  | { type: 'proving' };

export interface FingerprintReport {
  /** Whether the comparison counts for `ok` (false: nothing recorded, or a command dataset). */
  compared: boolean;
  equal: boolean;
  differences: string[];
  /** How many items were compared. */
  items: number;
  /**
   * What was compared, in words: for PostgreSQL `rows`, `sequences`, `definitions`, `large
   * objects`, `grants`, `database properties`. Absent when nothing was.
   */
  categories?: string[];
  /** Where the copy differs, category by database: `rows of appdb`, `database properties of appdb`. */
  differingIn?: string[];
  /**
   * The recorded fingerprint was measured in the very state the backup stored: no write to the
   * source explains a difference, under either policy.
   */
  consistent?: boolean;
  /** Differences such a backup still allows under the lenient policy: values writes advance outside the snapshot. */
  advanced?: string[];
  note?: string;
}

export interface UnitOutcome {
  filename: string;
  into: string;
  bytes: number;
  seconds: number;
  note?: string;
}

export interface RestoreResult {
  dataset: string;
  snapshotId: string;
  runId: string | null;
  /** When the restored backup started. */
  backupStartedAt: string;
  target: string;
  ok: boolean;
  /** Moving the data, in seconds (the part of an RTO a restore takes). */
  restoreSeconds: number;
  /** Restore and proof. */
  totalSeconds: number;
  bytesRestored: number;
  units: UnitOutcome[];
  fingerprint: FingerprintReport;
  checks: CheckResult[];
  warnings: string[];
  /**
   * What the restore replaced and where it is kept (moved aside, not removed), with how to
   * remove it once the restored copy is trusted.
   */
  replaced?: string[];
  /** Why `ok` is false. */
  error?: string;
}
