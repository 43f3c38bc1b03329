/**
 * What verifying a dataset yields, whichever way it is protected: the record `status` and
 * the RPO scorecard trust, and the events a caller shows as progress.
 */
import type { CheckResult } from './checks.js';
import type { FingerprintReport, RestoreEvent } from './restore.js';

export interface VerifyResult {
  dataset: string;
  /** The recovery point verified (its manifest snapshot id); '' when the dataset has none. */
  snapshotId: string;
  /** When that backup started. */
  backupStartedAt: string | null;
  repository: string;
  ok: boolean;
  /** Moving the data into the instance, in seconds. */
  restoreSeconds: number;
  /** Starting the throwaway instance, in seconds. */
  instanceSeconds: number;
  fingerprint: FingerprintReport;
  checks: CheckResult[];
  resticCheck: { ok: boolean; readDataSubset: string; output?: string };
  /** Why `ok` is false. */
  error?: string;
  /**
   * The verification could not reach a verdict: the environment failed (a missing repository
   * key, a throwaway server that did not start, a tool that is gone). It says nothing of the
   * recovery point, which keeps its standing: restore does not skip it for this.
   */
  inconclusive?: boolean;
  verifiedAt: string;
}

export type VerifyEvent =
  | { type: 'dataset-start'; dataset: string; snapshotId: string }
  | { type: 'instance-started'; dataset: string; instance: string; seconds: number }
  | { type: 'restore'; dataset: string; event: RestoreEvent }
  | { type: 'restic-check'; repository: string; ok: boolean; seconds: number }
  | { type: 'dataset-done'; result: VerifyResult };

export function notVerified(dataset: string, repository: string): VerifyResult {
  return {
    dataset,
    snapshotId: '',
    backupStartedAt: null,
    repository,
    ok: false,
    restoreSeconds: 0,
    instanceSeconds: 0,
    fingerprint: { compared: false, equal: false, differences: [], items: 0 },
    checks: [],
    resticCheck: { ok: false, readDataSubset: '' },
    verifiedAt: new Date().toISOString(),
  };
}
