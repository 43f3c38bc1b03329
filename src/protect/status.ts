/**
 * Is each dataset protected as the plan asks? `datasetStatus` is a pure function of the
 * plan, what the state store recorded and the time; `readStatusRecords` gathers those
 * records (the only I/O here, read-only).
 *
 * A protected dataset (one with a source Lifeboat backs up) is COMPLIANT when all hold:
 *
 * 1. Recency: its newest complete recovery point is no older than its RPO (the dataset's
 *    `rpo`, else `objectives.rpo`; without either, its backup cadence). A recovery point's
 *    age counts from when its backup STARTED: the data in it may be that old.
 * 2. Proof: a verification that passed finished no longer ago than the verify cadence
 *    (`verify.every`, default daily), plus a grace of a quarter of that cadence, at most one
 *    hour, so that a verification still running when the next one falls due does not flap
 *    the status. Any recovery point counts: the proof is that this dataset's backups
 *    restore, recently.
 * 3. Live exposure, for PostgreSQL datasets that archive WAL (`method: physical`): the
 *    primary's archiving is on and not failing, and what a loss now would cost (the time
 *    since the last archived segment, when WAL was written after it) is within the RPO
 *    (see exposure/verdict.ts). It is measured on the server, so it is passed in
 *    (`readLiveExposure`) and, when it cannot be measured, only warned about.
 *
 * 4. The newest recovery point has not failed its verification: a point whose restore was
 *    tried and did not give the data back is no recovery point (restore skips it), however
 *    recent it is. A new backup that has not been verified yet replaces it.
 *
 * A failed or interrupted backup newer than the newest complete one, or a verification of an
 * older recovery point that failed after the last one that passed, does not by itself breach
 * a target: while the targets hold it is a warning; when a target is breached it is listed
 * with the reasons, as the likely cause. So `reasons` is empty exactly when the dataset is
 * compliant.
 * Datasets without a source, or with an `external` one, are not protected by Lifeboat:
 * their `compliant` is null (not measured), never true.
 */
import { effectiveRpo } from '../plan/graph.js';
import { formatDuration, parseCadence } from '../plan/duration.js';
import type { Plan } from '../plan/schema.js';
import type { SnapshotRecord, StateStore, VerificationRecord } from '../state/store.js';
import type { ProtectContext } from './context.js';
import { liveFindings } from './exposure/verdict.js';
import type { ExposureReport, LiveObservation, LiveRecords, ReplicationReport } from './exposure/live.js';
import { backupRunning } from './dataset-lock.js';
import { reconcileDataset } from './reconcile.js';
import { isProtectable } from '../stores/index.js';
import { sameProcessRuns } from '../system/process.js';

// ---------------------------------------------------------------------------------------------
// What the plan asks for

const DAY = 86_400;
/** The shortest time between two scheduled backups of a dataset (`every: continuous` means back to back, not a busy loop). */
export const MIN_BACKUP_INTERVAL = 60;

/** Seconds between backups: `backup.every`, else the RPO, else daily. */
export function backupInterval(plan: Plan, datasetId: string): number {
  const every = plan.datasets?.[datasetId]?.backup?.every;
  const seconds =
    (every === undefined ? undefined : parseCadence(every)) ?? effectiveRpo(plan, datasetId) ?? DAY;
  return Math.max(seconds, MIN_BACKUP_INTERVAL);
}

/** Seconds between verifications: `verify.every`, default daily. */
export function verifyInterval(plan: Plan, datasetId: string): number {
  const every = plan.datasets?.[datasetId]?.verify?.every;
  return Math.max((every === undefined ? undefined : parseCadence(every)) ?? DAY, MIN_BACKUP_INTERVAL);
}

/** How late a verification may be before the dataset stops being compliant (see the file's comment). */
export function verifyGrace(intervalSeconds: number): number {
  return Math.min(intervalSeconds / 4, 3600);
}

/** Whether Lifeboat backs this dataset up, and if not, why. */
export function protection(
  plan: Plan,
  datasetId: string,
): { protected: true } | { protected: false; note: string } {
  const source = plan.datasets?.[datasetId]?.source;
  if (!source) return { protected: false, note: 'not protected by Lifeboat: the plan gives it no source' };
  if (!isProtectable(source)) {
    const by = 'vendor' in source && source.vendor ? ` (vendor ${source.vendor})` : '';
    return { protected: false, note: `not protected by Lifeboat: external, kept by its provider${by}` };
  }
  return { protected: true };
}

// ---------------------------------------------------------------------------------------------
// What happened

export interface DatasetRecords {
  newestComplete: SnapshotRecord | undefined;
  newestFailed: SnapshotRecord | undefined;
  /** Backups recorded as started and not finished, newest first. */
  pending: SnapshotRecord[];
  /** A live process holds the dataset's backup lock: a backup is running now. */
  backupRunning: boolean;
  /** The verification that finished last, passed or not. */
  latestVerification: VerificationRecord | undefined;
  latestOkVerification: VerificationRecord | undefined;
  /** The recovery point the latest passing verification restored, while the state store still has it. */
  verifiedSnapshot: SnapshotRecord | undefined;
  /** The last verification of the newest complete recovery point, if it has one. */
  newestVerification?: VerificationRecord | undefined;
  /** Restores whose process died before they finished, whose leftovers no later restore removed. */
  interruptedRestores?: InterruptedRestore[];
}

export interface InterruptedRestore {
  restoreId: string;
  /** The target as the audit log names it (passwords masked). */
  target: string;
  /** When it started. */
  at: string;
}

export type StatusRecords = Record<string, DatasetRecords>;

export { INTERRUPTED_ERROR } from './backup-result.js';
import { INTERRUPTED_ERROR } from './backup-result.js';
import { verificationInconclusive } from './recovery-points.js';

// ---------------------------------------------------------------------------------------------
// The verdict

export interface StatusRow {
  dataset: string;
  protected: boolean;
  /** Why it is not protected, for datasets Lifeboat does not back up. */
  note?: string;
  /** The effective RPO in seconds; null when the plan sets none. */
  rpoSeconds: number | null;
  /** The age bound checked for recency: the RPO, else the backup cadence. */
  recencyTargetSeconds: number | null;
  backupEverySeconds: number | null;
  verifyEverySeconds: number | null;
  newest: { snapshotId: string | null; run: string | null; at: string; ageSeconds: number } | null;
  verified: {
    /** When the verification finished. */
    at: string;
    ageSeconds: number;
    snapshotId: string | null;
    /** When the verified recovery point's backup started, while the state store still has it. */
    recoveryPointAt: string | null;
    recoveryPointAgeSeconds: number | null;
  } | null;
  /** The newest recovery point's last verification, when it failed: the point is not a good one. */
  newestFailedVerification: { at: string; ageSeconds: number; error: string } | null;
  /** The newest failed or interrupted backup, when newer than the newest complete one. */
  lastFailure: { at: string; ageSeconds: number; error: string; interrupted: boolean } | null;
  running: { since: string } | null;
  /** The live WAL archive exposure; null when the dataset archives no WAL or was not measured. */
  exposure: ExposureReport | null;
  /** The streaming standby's lag; null when the plan names no standby or it was not measured. */
  replication: ReplicationReport | null;
  /** Null for datasets Lifeboat does not protect: nothing is measured. */
  compliant: boolean | null;
  /** Why it is not compliant; empty exactly when it is. */
  reasons: string[];
  /** Problems that do not breach a target (yet). */
  warnings: string[];
  /** Restores killed before they finished: what they staged beside their target is still there. */
  interruptedRestores: InterruptedRestore[];
}

/**
 * One row per dataset of the plan, in plan order. No I/O: `live` is what `readLiveExposure`
 * measured (default: nothing).
 */
export function datasetStatus(
  plan: Plan,
  records: StatusRecords,
  now: Date,
  live: LiveRecords = {},
): StatusRow[] {
  return Object.keys(plan.datasets ?? {}).map((id) => rowFor(plan, id, records[id], now, live[id]));
}

const ageOf = (iso: string, now: Date) => Math.max(0, (now.getTime() - Date.parse(iso)) / 1000);

/** `3h`, `25m`, `40s`, `2d3h`: precise enough for an age, never `1h59m59s`. */
export function formatAge(seconds: number): string {
  const unit = seconds < 120 ? 1 : seconds < 7200 ? 60 : seconds < 2 * DAY ? 60 : 3600;
  return formatDuration(Math.round(seconds / unit) * unit);
}

function rowFor(
  plan: Plan,
  id: string,
  records: DatasetRecords | undefined,
  now: Date,
  live: LiveObservation | undefined,
): StatusRow {
  const rpo = effectiveRpo(plan, id) ?? null;
  const guard = protection(plan, id);
  const base = {
    dataset: id,
    rpoSeconds: rpo,
    newest: null,
    verified: null,
    newestFailedVerification: null,
    lastFailure: null,
    running: null,
    exposure: live?.exposure ?? null,
    replication: live?.replication ?? null,
    reasons: [],
    warnings: [],
    interruptedRestores: records?.interruptedRestores ?? [],
  };
  if (!guard.protected) {
    return {
      ...base,
      protected: false,
      note: guard.note,
      recencyTargetSeconds: null,
      backupEverySeconds: null,
      verifyEverySeconds: null,
      compliant: null,
    };
  }
  const backupEvery = backupInterval(plan, id);
  const verifyEvery = verifyInterval(plan, id);
  const target = rpo ?? backupEvery;
  const targetName =
    rpo !== null
      ? `RPO ${formatDuration(rpo)}`
      : `backup every ${formatDuration(backupEvery)} (no RPO in the plan)`;
  const reasons: string[] = [];
  const causes: string[] = [];

  const complete = records?.newestComplete;
  const newest = complete
    ? {
        snapshotId: complete.resticSnapshotId,
        run: complete.runId,
        at: complete.startedAt,
        ageSeconds: ageOf(complete.startedAt, now),
      }
    : null;
  if (!newest) reasons.push('no recovery point yet');
  else if (newest.ageSeconds > target)
    reasons.push(`newest recovery point is ${formatAge(newest.ageSeconds)} old, ${targetName}`);

  const ok = records?.latestOkVerification;
  const verified = ok
    ? {
        at: ok.finishedAt,
        ageSeconds: ageOf(ok.finishedAt, now),
        snapshotId: records?.verifiedSnapshot?.resticSnapshotId ?? null,
        recoveryPointAt: records?.verifiedSnapshot?.startedAt ?? null,
        recoveryPointAgeSeconds: records?.verifiedSnapshot
          ? ageOf(records.verifiedSnapshot.startedAt, now)
          : null,
      }
    : null;
  if (!verified) reasons.push('never verified');
  else if (verified.ageSeconds > verifyEvery + verifyGrace(verifyEvery)) {
    reasons.push(
      `last verified ${formatAge(verified.ageSeconds)} ago, verify every ${formatDuration(verifyEvery)}`,
    );
  }

  const newestCheck = complete && records?.newestVerification;
  const newestFailedVerification =
    newestCheck && newestCheck.snapshotId === complete.id && !newestCheck.ok
      ? {
          at: newestCheck.finishedAt,
          ageSeconds: ageOf(newestCheck.finishedAt, now),
          error: newestCheck.error ?? 'no error recorded',
        }
      : null;
  if (complete && newestCheck && newestFailedVerification) {
    const point = complete.resticSnapshotId?.slice(0, 8) ?? complete.id;
    const ago = formatAge(newestFailedVerification.ageSeconds);
    reasons.push(
      verificationInconclusive(newestCheck)
        ? `newest recovery point ${point} could not be verified ${ago} ago: ${newestFailedVerification.error}`
        : `newest recovery point ${point} failed its verification ${ago} ago: ${newestFailedVerification.error}; restore skips it until a new backup replaces it`,
    );
  }

  // A live breach is a reason; what could not be measured live stays a warning even when
  // the dataset is not compliant, since it explains no breach.
  const measured = liveFindings(live);
  reasons.push(...measured.reasons);

  const lastFailure = newestFailure(records, now);
  if (lastFailure) {
    const age = formatAge(lastFailure.ageSeconds);
    causes.push(
      lastFailure.interrupted
        ? `last backup was interrupted ${age} ago: the process running it ended before it completed (killed, or its host went down)`
        : `last backup failed ${age} ago: ${lastFailure.error}`,
    );
  }
  const lastVerification = records?.latestVerification;
  // The newest point's own failure is a reason above already; said once.
  if (lastVerification && !lastVerification.ok && lastVerification.id !== newestCheck?.id) {
    causes.push(
      `last verification failed ${formatAge(ageOf(lastVerification.finishedAt, now))} ago: ${lastVerification.error ?? 'no error recorded'}`,
    );
  }
  const running = records?.backupRunning
    ? { since: records.pending[0]?.startedAt ?? now.toISOString() }
    : null;
  const compliant = reasons.length === 0;
  return {
    ...base,
    protected: true,
    recencyTargetSeconds: target,
    backupEverySeconds: backupEvery,
    verifyEverySeconds: verifyEvery,
    newest,
    verified,
    newestFailedVerification,
    lastFailure,
    running,
    compliant,
    reasons: compliant ? [] : [...reasons, ...causes],
    warnings: [
      ...(compliant ? causes : []),
      ...measured.warnings,
      ...base.interruptedRestores.map(
        (r) =>
          `a restore into ${r.target} was killed ${formatAge(ageOf(r.at, now))} ago: what it staged beside the target (names with __lifeboat_restore_${r.restoreId}) stays until the next restore into that target removes it`,
      ),
    ],
  };
}

/**
 * The newest backup that did not complete, if it started after the newest complete one: a
 * failure the state store recorded, or a run still recorded pending while no process holds
 * the dataset's backup lock (its process was killed; the next backup records it failed).
 */
function newestFailure(records: DatasetRecords | undefined, now: Date): StatusRow['lastFailure'] {
  if (!records) return null;
  const candidates: { at: string; error: string; interrupted: boolean }[] = [];
  const failed = records.newestFailed;
  if (failed) {
    candidates.push({
      at: failed.startedAt,
      error: failed.error ?? 'no error recorded',
      interrupted: failed.error?.startsWith('interrupted') ?? false,
    });
  }
  if (!records.backupRunning) {
    for (const pending of records.pending)
      candidates.push({ at: pending.startedAt, error: INTERRUPTED_ERROR, interrupted: true });
  }
  const newestComplete = records.newestComplete ? Date.parse(records.newestComplete.startedAt) : -Infinity;
  const newest = candidates
    .filter((c) => Date.parse(c.at) > newestComplete)
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))[0];
  return newest ? { ...newest, ageSeconds: ageOf(newest.at, now) } : null;
}

// ---------------------------------------------------------------------------------------------
// Reading the records (read-only I/O)

/**
 * The records `datasetStatus` needs, for the given datasets (default: all of the plan's).
 * What a crash left unsettled (a run pending with no live process, a prune cut off) is
 * settled against the repository first (reconcile.ts); otherwise this only reads.
 */
export async function readStatusRecords(
  context: ProtectContext,
  datasetIds?: string[],
): Promise<StatusRecords> {
  const state = await context.state();
  const ids = datasetIds ?? Object.keys(context.plan.datasets ?? {});
  const records: StatusRecords = {};
  for (const id of ids) {
    if (protection(context.plan, id).protected) await reconcileDataset(context, id);
    records[id] = await readDatasetRecords(state, id, backupRunning(context.homeDir, id));
  }
  return records;
}

/**
 * Restores the audit log shows started and never finished, by a process that is gone, with no
 * later restore into the same target (which removes what they staged).
 */
async function interruptedRestores(state: StateStore, id: string): Promise<InterruptedRestore[]> {
  const entries = await state.listAudit({ action: 'restore.run', target: `dataset:${id}`, limit: 200 });
  // Newest first: a restore seen finished, or followed by a later one into its target, is settled.
  const finished = new Set<string>();
  const laterInto = new Set<string>();
  const found: InterruptedRestore[] = [];
  for (const entry of entries) {
    const details = (entry.details ?? {}) as {
      restoreId?: string;
      target?: string;
      process?: { pid?: number; start?: number | null };
    };
    const restoreId = details.restoreId;
    const target = details.target ?? '';
    if (restoreId === undefined) continue;
    if (entry.outcome !== 'started') {
      finished.add(restoreId);
      continue;
    }
    const settled = finished.has(restoreId) || laterInto.has(target);
    laterInto.add(target);
    const pid = details.process?.pid;
    if (settled || pid === undefined || sameProcessRuns(pid, details.process?.start ?? undefined)) continue;
    found.push({ restoreId, target, at: entry.at });
  }
  return found;
}

async function readDatasetRecords(state: StateStore, id: string, running: boolean): Promise<DatasetRecords> {
  const latestOkVerification = await state.latestVerification(id, { ok: true });
  const newestComplete = await state.latestCompleteSnapshot(id);
  return {
    newestComplete,
    newestVerification: newestComplete
      ? await state.latestVerification(id, { snapshotId: newestComplete.id })
      : undefined,
    newestFailed: (await state.listSnapshots(id, { status: 'failed', limit: 1 }))[0],
    pending: await state.listSnapshots(id, { status: 'pending', limit: 20 }),
    backupRunning: running,
    latestVerification: await state.latestVerification(id),
    latestOkVerification,
    verifiedSnapshot: latestOkVerification?.snapshotId
      ? await state.getSnapshot(latestOkVerification.snapshotId)
      : undefined,
    interruptedRestores: await interruptedRestores(state, id),
  };
}
