/**
 * Physical backups with pgBackRest: which type to take (pure, from the plan's `full_every`
 * and the repository's own record of backups), taking it, expiring by retention, verifying
 * the repository. Each backup is a snapshot record in the state store (sourceType
 * `postgres-physical`, the pgBackRest label as its id) with an audit entry.
 */
import { coerceError, RefusedError } from '../../../errors.js';
import { actor } from '../../audit.js';
import { describeError } from '../../../errors.js';
import type { ProtectContext } from '../../context.js';
import { preparePhysicalDataset, type PhysicalDataset } from './dataset.js';
import {
  lastFull,
  type BackupSet,
  type BackupType,
  type StanzaInfo,
} from '../../../engines/pgbackrest/info.js';
import {
  pgbackrestInfo,
  pgbackrestMessage,
  runPgbackrest,
  runPgbackrestRaw,
} from '../../../engines/pgbackrest/runner.js';
import {
  applyArchiving,
  ensureStanza,
  planDatasetArchiving,
  type ApplyArchivingOptions,
  type ApplyArchivingResult,
} from './setup.js';

export const PHYSICAL_SOURCE_TYPE = 'postgres-physical';

export interface PhysicalBackupPlan {
  dataset: string;
  type: BackupType;
  /** Why this type, in words. */
  reason: string;
  /** The set a diff or incr builds on. */
  basedOn: string | undefined;
}

/**
 * A differential backup at most this long after the newest full-or-diff: an incremental
 * chain is cheap to take and slow to restore, so each day starts a new chain from the full.
 */
const DIFF_EVERY_SECONDS = 86_400;

export function planPhysicalBackup(input: {
  dataset: string;
  info: StanzaInfo;
  now: Date;
  fullEverySeconds: number;
  /** An explicit type from the command line wins, except that the first backup is always full. */
  requested?: BackupType;
}): PhysicalBackupPlan {
  const { info, now } = input;
  const full = lastFull(info);
  if (!full)
    return { dataset: input.dataset, type: 'full', reason: 'no full backup yet', basedOn: undefined };
  const newest = info.backups.at(-1);
  if (input.requested) {
    return {
      dataset: input.dataset,
      type: input.requested,
      reason: 'requested',
      basedOn:
        input.requested === 'full' ? undefined : input.requested === 'diff' ? full.label : newest?.label,
    };
  }
  const fullAge = (now.getTime() - full.startedAt.getTime()) / 1000;
  if (fullAge >= input.fullEverySeconds) {
    return {
      dataset: input.dataset,
      type: 'full',
      reason: `the last full backup (${full.label}) is older than full_every`,
      basedOn: undefined,
    };
  }
  const lastChainStart = info.backups.filter((b) => b.type !== 'incr').at(-1) ?? full;
  if ((now.getTime() - lastChainStart.startedAt.getTime()) / 1000 >= DIFF_EVERY_SECONDS) {
    return {
      dataset: input.dataset,
      type: 'diff',
      reason: 'a day since the last full or differential backup',
      basedOn: full.label,
    };
  }
  return {
    dataset: input.dataset,
    type: 'incr',
    reason: 'a recent full or differential exists',
    basedOn: newest?.label,
  };
}

export interface PhysicalBackupOptions {
  type?: BackupType;
  /**
   * When the server's archiving settings are not what pgBackRest needs: apply them with
   * these options (confirmation, restart). Default: refuse, listing what must change.
   */
  archiving?: ApplyArchivingOptions;
  actor?: string;
}

export interface PhysicalBackupResult {
  dataset: string;
  ok: true;
  label: string;
  type: BackupType;
  reason: string;
  /** The recovery point's id: the pgBackRest label, as every command shows and takes it. */
  snapshotId: string;
  stanzaCreated: boolean;
  archiving: ApplyArchivingResult | undefined;
  sizeBytes: number | undefined;
  repositoryDeltaBytes: number | undefined;
  durationMs: number;
  /** WAL from here on makes the backup consistent; PITR targets must be later. */
  stoppedAt: string;
}

export async function backupPhysical(
  context: ProtectContext,
  datasetId: string,
  options: PhysicalBackupOptions = {},
): Promise<PhysicalBackupResult> {
  const dataset = await preparePhysicalDataset(context, datasetId);
  const archivingPlan = planDatasetArchiving(dataset);
  let archiving: ApplyArchivingResult | undefined;
  if (!archivingPlan.upToDate) {
    if (!options.archiving) {
      throw new RefusedError(
        `WAL archiving of '${datasetId}' is not set up: ${archivingPlan.changes.map((c) => `${c.name} = ${c.to}`).join(', ')}`,
        {
          hint: 'confirm the archiving change (it is ALTER SYSTEM on the server; archive_mode needs a restart), then back up again',
          details: { changes: archivingPlan.changes },
        },
      );
    }
    archiving = await applyArchiving(dataset, archivingPlan, options.archiving);
    if (archiving.pendingRestart.length > 0) {
      throw new RefusedError(
        `'${datasetId}' needs a restart of PostgreSQL before backups: ${archiving.pendingRestart.join(', ')} written with ALTER SYSTEM`,
        { hint: 'restart the server (pg_ctl restart, systemctl restart postgresql@...), then back up again' },
      );
    }
  }
  const stanzaCreated = await ensureStanza(dataset);
  const before = await pgbackrestInfo(dataset.target);
  const plan = planPhysicalBackup({
    dataset: datasetId,
    info: before,
    now: new Date(),
    fullEverySeconds: dataset.fullEverySeconds,
    ...(options.type ? { requested: options.type } : {}),
  });
  const state = await context.state();
  const record = await state.insertPendingSnapshot({
    dataset: datasetId,
    repository: dataset.repositoryId,
    sourceType: PHYSICAL_SOURCE_TYPE,
    tags: [`pgbackrest-${plan.type}`],
  });
  const started = Date.now();
  try {
    await runPgbackrest(dataset.target, 'backup', [`--type=${plan.type}`], { secrets: dataset.secrets });
    const after = await pgbackrestInfo(dataset.target);
    const known = new Set(before.backups.map((b) => b.label));
    const made = after.backups.filter((b) => !known.has(b.label)).at(-1);
    if (!made) throw new Error('pgbackrest backup succeeded but info lists no new backup');
    // pgBackRest expires by its retention at the end of every backup: what it removed is no
    // longer a recovery point, and status or restore must not offer it.
    const kept = new Set(after.backups.map((b) => b.label));
    for (const gone of before.backups.filter((b) => !kept.has(b.label)))
      await state.deleteSnapshotByResticId(gone.label);
    await state.markSnapshotComplete(record.id, {
      resticSnapshotId: made.label,
      totalBytes: made.sizeBytes ?? null,
      bytesAdded: made.repositoryDeltaBytes ?? null,
      fingerprint: backupFacts(made),
    });
    await state.appendAudit({
      actor: options.actor ?? actor(),
      action: 'backup.run',
      target: `dataset:${datasetId}`,
      outcome: 'ok',
      details: { method: 'physical', type: made.type, label: made.label, reason: plan.reason, stanzaCreated },
    });
    return {
      dataset: datasetId,
      ok: true,
      label: made.label,
      type: made.type,
      reason: plan.reason,
      // The recovery point's id, as snapshots shows it and restore --snapshot takes it.
      snapshotId: made.label,
      stanzaCreated,
      archiving,
      sizeBytes: made.sizeBytes,
      repositoryDeltaBytes: made.repositoryDeltaBytes,
      durationMs: Date.now() - started,
      stoppedAt: made.stoppedAt.toISOString(),
    };
  } catch (cause) {
    const error = coerceError(cause);
    await state.markSnapshotFailed(record.id, { error: describeError(error) });
    await state.appendAudit({
      actor: options.actor ?? actor(),
      action: 'backup.run',
      target: `dataset:${datasetId}`,
      outcome: 'failed',
      details: { method: 'physical', type: plan.type, error: describeError(error) },
    });
    throw error;
  }
}

/** What the state store keeps about a backup beyond its size: the WAL and LSN range. */
function backupFacts(set: BackupSet): Record<string, unknown> {
  return {
    type: set.type,
    prior: set.prior ?? null,
    lsnStart: set.lsnStart,
    lsnStop: set.lsnStop,
    walStart: set.walStart ?? null,
    walStop: set.walStop ?? null,
    startedAt: set.startedAt.toISOString(),
    stoppedAt: set.stoppedAt.toISOString(),
  };
}

/**
 * `pgbackrest expire` with the retention written in the config; forgets the expired sets in
 * the state store. pgBackRest also expires after every backup: this is for a changed policy.
 */
export async function expirePhysical(
  context: ProtectContext,
  datasetId: string,
  options: { actor?: string } = {},
): Promise<{ expired: string[]; kept: string[] }> {
  const dataset = await preparePhysicalDataset(context, datasetId, { requireServer: false });
  const before = await pgbackrestInfo(dataset.target);
  await runPgbackrest(dataset.target, 'expire', [], { secrets: dataset.secrets });
  const after = await pgbackrestInfo(dataset.target);
  const kept = after.backups.map((b) => b.label);
  const expired = before.backups.map((b) => b.label).filter((label) => !kept.includes(label));
  const state = await context.state();
  for (const label of expired) await state.deleteSnapshotByResticId(label);
  await state.appendAudit({
    actor: options.actor ?? actor(),
    action: 'prune.run',
    target: `dataset:${datasetId}`,
    outcome: 'ok',
    details: { method: 'physical', expired, kept },
  });
  return { expired, kept };
}

export interface PhysicalVerifyResult {
  dataset: string;
  ok: boolean;
  /** pgBackRest's summary lines (checksum errors, missing files), when any. */
  problems: string[];
  durationMs: number;
}

/**
 * `pgbackrest verify`: every file of the repository (backups and WAL) read back against
 * its checksum. It proves the repository is intact, not that a restore works; the PITR
 * drill proves that.
 */
export async function verifyPhysical(
  context: ProtectContext,
  datasetId: string,
  options: { actor?: string } = {},
): Promise<PhysicalVerifyResult> {
  const dataset: PhysicalDataset = await preparePhysicalDataset(context, datasetId, { requireServer: false });
  const started = Date.now();
  // verify reports what it found at INFO level and exits 0 even then ("completed
  // successfully"), so its summary is read from the console output.
  const result = await runPgbackrestRaw(dataset.target, 'verify', ['--log-level-console=info'], {
    secrets: dataset.secrets,
  });
  const problems = result.code === 0 ? verifyProblems(result.stdout) : [pgbackrestMessage(result)];
  const ok = result.code === 0 && problems.length === 0;
  await (
    await context.state()
  ).appendAudit({
    actor: options.actor ?? actor(),
    action: 'verify.repository',
    target: `dataset:${datasetId}`,
    outcome: ok ? 'ok' : 'failed',
    details: { method: 'physical', problems },
  });
  return { dataset: datasetId, ok, problems, durationMs: Date.now() - started };
}

/**
 * The findings in verify's output: per-file lines (`invalid checksum '...'`, `file missing
 * '...'`) and, when the summary says `status: error`, its counters.
 */
export function verifyProblems(output: string): string[] {
  const problems: string[] = [];
  for (const line of output.split('\n')) {
    const message = line.replace(/^\S+ \S+ P\d+ +\w+: /, '').trim();
    if (
      /^(invalid|missing|file missing|unable|no WAL|.*checksum invalid|.*size invalid|.*missing:|.*other:)/i.test(
        message,
      )
    )
      problems.push(message);
  }
  if (problems.length === 0 && /status: error/.test(output))
    problems.push('pgbackrest verify reported status: error');
  return problems;
}
