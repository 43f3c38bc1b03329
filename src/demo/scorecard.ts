/**
 * The demo's scorecard: per dataset, what was backed up, how long it took, whether its
 * restore was proven and whether its RPO is met. Pure: results in, rows out. An RPO counts
 * as met only on a verified recovery point (principle 3: never from the plan's own claim).
 */
import { formatDuration, parseDuration } from '../plan/duration.js';
import type { Plan } from '../plan/schema.js';
import type { DatasetBackupResult } from '../protect/backup.js';
import type { VerifyResult } from '../protect/verify.js';

/** The part of a verification the scorecard reads. */
export type VerifiedPoint = Pick<
  VerifyResult,
  'dataset' | 'snapshotId' | 'backupStartedAt' | 'ok' | 'restoreSeconds' | 'fingerprint' | 'checks' | 'error'
>;

export interface DemoDatasetResult {
  id: string;
  type: string;
  /** The recovery point: the manifest snapshot of the run (short ids are its first 8 characters). */
  snapshot: string | null;
  /** Bytes read from the source. */
  bytes: number;
  /** Bytes the repository grew by (after dedup and compression). */
  bytesAdded: number;
  backupSeconds: number;
  verified: boolean;
  restoreSeconds: number | null;
  checks: { passed: number; total: number };
  rpo: string | null;
  /** `met`, `breached` or `unknown` (no verified recovery point). */
  rpoStatus: 'met' | 'breached' | 'unknown';
  /** Age of the verified recovery point when the scorecard was made. */
  rpoAgeSeconds: number | null;
  error?: string;
}

export function scorecard(
  plan: Plan,
  backups: DatasetBackupResult[],
  verifications: VerifiedPoint[],
  now: Date,
): DemoDatasetResult[] {
  return Object.entries(plan.datasets ?? {}).map(([id, dataset]) => {
    const backup = backups.find((b) => b.dataset === id);
    const verify = verifications.find((v) => v.dataset === id);
    const verified = Boolean(backup?.ok && verify?.ok && verify.snapshotId === backup.snapshotId);
    const rpo = dataset.rpo ?? plan.objectives?.rpo ?? null;
    const rpoSeconds = rpo === null ? undefined : parseDuration(rpo);
    // The recovery point holds the data as of its backup's start.
    const pointTime = verify?.backupStartedAt ? Date.parse(verify.backupStartedAt) : NaN;
    const age = verified && Number.isFinite(pointTime) ? (now.getTime() - pointTime) / 1000 : null;
    const rpoStatus =
      age === null || rpoSeconds === undefined ? 'unknown' : age <= rpoSeconds ? 'met' : 'breached';
    const error =
      backup?.error ??
      (verify && !verify.ok ? verifyError(verify) : undefined) ??
      (backup ? undefined : 'not backed up');
    return {
      id,
      type: dataset.source?.type ?? 'none',
      snapshot: backup?.snapshotId ?? null,
      bytes: backup?.bytesProcessed ?? 0,
      bytesAdded: backup?.bytesAdded ?? 0,
      backupSeconds: (backup?.durationMs ?? 0) / 1000,
      verified,
      restoreSeconds: verify?.restoreSeconds ?? null,
      checks: { passed: verify?.checks.filter((c) => c.ok).length ?? 0, total: verify?.checks.length ?? 0 },
      rpo,
      rpoStatus,
      rpoAgeSeconds: age,
      ...(error ? { error } : {}),
    };
  });
}

function verifyError(verify: VerifiedPoint): string {
  if (verify.error) return verify.error;
  if (!verify.fingerprint.equal)
    return `restored copy differs: ${verify.fingerprint.differences.slice(0, 3).join('; ')}`;
  const failed = verify.checks.filter((c) => !c.ok).length;
  return failed > 0 ? `${failed} check(s) failed` : 'verification failed';
}

/** `met (12s old, RPO 1h)`, for the table. */
export function describeRpo(result: DemoDatasetResult): string {
  if (result.rpoStatus === 'unknown')
    return result.rpo ? `unknown (no verified point, RPO ${result.rpo})` : 'no RPO';
  const age = formatDuration(Math.max(1, Math.round(result.rpoAgeSeconds ?? 0)));
  return `${result.rpoStatus} (${age} old, RPO ${result.rpo})`;
}
