/**
 * Backing up datasets: `planBackup` decides what to do from the plan alone; `runBackup`
 * does it. One run of a dataset streams each unit of its source straight into restic (no
 * temporary copy; see backup-units.ts), then stores the manifest; only then is the run
 * complete, in the repository (the manifest's tag) and in the state store. A failure part-way forgets what the run
 * wrote, records the error and leaves the repository as it was.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LifeboatError, OperationError, UsageError, coerceError, describeError } from '../errors.js';
import { actor } from './audit.js';
import type { Plan } from '../plan/schema.js';
import type { ProtectContext } from './context.js';
import { MANIFEST_FILENAME, MANIFEST_FORMAT, type Manifest, type ManifestUnit } from './manifest.js';
import { datasetLockKey, lockDir } from './dataset-lock.js';
import { acquireLock } from '../engines/restic/lock.js';
import type { BackupProgress } from '../engines/restic/repository.js';
import { createSource } from '../stores/index.js';
import { storeUnits, storedName } from './backup-units.js';
import { labelsToTags, newRunId, type SnapshotLabels } from './tags.js';

export interface BackupPlanItem {
  dataset: string;
  repository: string;
  sourceType: string;
  /** `logical`: the source's dump streamed into restic. `physical`: pgBackRest. */
  method: 'logical' | 'physical';
}

export interface BackupPlan {
  items: BackupPlanItem[];
  /** Datasets left out, with why (no source, vendor-managed). */
  skipped: { dataset: string; reason: string }[];
}

/** Which datasets a backup touches. No I/O. Unknown names are a UsageError naming the known ones. */
export function planBackup(
  plan: Plan,
  requested: string[],
  repositoryOf: (id: string) => string,
): BackupPlan {
  const datasets = plan.datasets ?? {};
  const known = Object.keys(datasets);
  for (const id of requested) {
    if (!(id in datasets)) {
      throw new UsageError(`unknown dataset '${id}'`, {
        hint:
          known.length > 0 ? `the plan's datasets are: ${known.join(', ')}` : 'the plan declares no datasets',
      });
    }
  }
  const ids = requested.length > 0 ? requested : known;
  const plan_: BackupPlan = { items: [], skipped: [] };
  for (const id of ids) {
    const source = datasets[id]!.source;
    if (!source) plan_.skipped.push({ dataset: id, reason: 'no source in the plan' });
    else if (source.type === 'external')
      plan_.skipped.push({ dataset: id, reason: 'kept by a vendor (external source)' });
    else if (datasets[id]!.backup?.method === 'physical') {
      if (source.type !== 'postgres') {
        throw new UsageError(
          `dataset '${id}': physical backups are for PostgreSQL sources, not ${source.type}`,
          {
            hint: 'use `method: logical` (the default) for this dataset',
          },
        );
      }
      plan_.items.push({
        dataset: id,
        repository: datasets[id]!.backup?.repository ?? 'pgbackrest',
        sourceType: source.type,
        method: 'physical',
      });
    } else
      plan_.items.push({
        dataset: id,
        repository: repositoryOf(id),
        sourceType: source.type,
        method: 'logical',
      });
  }
  return plan_;
}

export type BackupEvent =
  | { type: 'dataset-start'; dataset: string; run: string; units: number }
  | { type: 'unit-start'; dataset: string; unit: string }
  | { type: 'progress'; dataset: string; unit: string; progress: BackupProgress }
  | {
      type: 'unit-done';
      dataset: string;
      unit: string;
      snapshotId: string;
      bytesAdded: number;
      bytesProcessed: number;
    }
  | { type: 'dataset-done'; result: DatasetBackupResult }
  | { type: 'dataset-failed'; dataset: string; error: string };

export interface DatasetBackupResult {
  dataset: string;
  run: string;
  repository: string;
  ok: boolean;
  /** The manifest's snapshot: the id of the recovery point. */
  snapshotId?: string;
  bytesAdded: number;
  bytesProcessed: number;
  durationMs: number;
  units: ManifestUnit[];
  error?: string;
}

export interface RunBackupOptions {
  onEvent?: (event: BackupEvent) => void;
  signal?: AbortSignal;
  actor?: string;
  /** Physical datasets: the user confirmed applying the WAL archiving settings (ALTER SYSTEM, restart). */
  configureArchiving?: boolean;
}

export async function runBackup(
  context: ProtectContext,
  backupPlan: BackupPlan,
  options: RunBackupOptions = {},
): Promise<DatasetBackupResult[]> {
  const results: DatasetBackupResult[] = [];
  for (const item of backupPlan.items) {
    if (options.signal?.aborted) break;
    // Never two backups of one dataset at once, across processes: the second fails fast.
    const lock = await acquireLock(datasetLockKey(context.homeDir, item.dataset), {
      dir: lockDir(context.homeDir),
      waitMs: 0,
    });
    try {
      await failInterruptedRuns(context, item.dataset);
      results.push(
        item.method === 'physical'
          ? await backupPhysicalDataset(context, item, options)
          : await backupDataset(context, item, options),
      );
    } finally {
      await lock.release();
    }
  }
  return results;
}

/** pgBackRest does the work and keeps its own records; the result is reported like a logical run. */
async function backupPhysicalDataset(
  context: ProtectContext,
  item: BackupPlanItem,
  options: RunBackupOptions,
): Promise<DatasetBackupResult> {
  const emit = options.onEvent ?? (() => {});
  const started = Date.now();
  emit({ type: 'dataset-start', dataset: item.dataset, run: 'pgbackrest', units: 1 });
  const { backupPhysical } = await import('./pgbackrest/backup.js');
  try {
    const physical = await backupPhysical(context, item.dataset, {
      ...(options.configureArchiving
        ? { archiving: { confirmed: true, actor: options.actor ?? actor() } }
        : {}),
      actor: options.actor ?? actor(),
    });
    const result: DatasetBackupResult = {
      dataset: item.dataset,
      run: physical.label,
      repository: item.repository,
      ok: true,
      snapshotId: physical.snapshotId,
      bytesAdded: physical.repositoryDeltaBytes ?? 0,
      bytesProcessed: physical.sizeBytes ?? 0,
      durationMs: Date.now() - started,
      units: [],
    };
    emit({ type: 'dataset-done', result });
    return result;
  } catch (cause) {
    // Refusals (archiving not set up) are the user's to confirm: they surface as such.
    if (cause instanceof LifeboatError && cause.exitCode === 4) throw cause;
    const message = describeError(coerceError(cause));
    emit({ type: 'dataset-failed', dataset: item.dataset, error: message });
    return failedResult(item, 'pgbackrest', started, message);
  }
}

/**
 * A run still pending when we hold the dataset's lock belongs to a process that died (killed,
 * crashed, power lost). Its snapshots never got the complete tag; record it as failed.
 */
async function failInterruptedRuns(context: ProtectContext, dataset: string): Promise<void> {
  const state = await context.state();
  for (const stale of await state.listSnapshots(dataset, { status: 'pending' })) {
    await state.markSnapshotFailed(stale.id, {
      error: 'interrupted: the process running this backup ended before it completed',
    });
  }
}

async function backupDataset(
  context: ProtectContext,
  item: BackupPlanItem,
  options: RunBackupOptions,
): Promise<DatasetBackupResult> {
  const emit = options.onEvent ?? (() => {});
  const started = Date.now();
  const run = newRunId();
  const state = await context.state();
  const planVersion = await state.recordPlanVersion({
    contentHash: context.loaded.contentHash,
    planPath: context.loaded.file,
    organization: context.plan.organization,
    documentVersion:
      context.plan.document?.version === undefined ? null : String(context.plan.document.version),
  });
  const labels: Omit<SnapshotLabels, 'unit'> = {
    dataset: item.dataset,
    run,
    source: item.sourceType,
    plan: context.loaded.contentHash.slice(0, 12),
    organization: context.plan.organization,
  };
  const record = await state.insertPendingSnapshot({
    dataset: item.dataset,
    repository: item.repository,
    sourceType: item.sourceType,
    planVersionId: planVersion.id,
    runId: run,
    tags: labelsToTags({ ...labels, unit: MANIFEST_FILENAME }),
    // The same start time as the manifest's, so `catalog rebuild` restores the record exactly.
    startedAt: new Date(started).toISOString(),
  });
  const written: ManifestUnit[] = [];
  /** Every unit snapshot saved so far, to forget if the run fails. */
  const stored: string[] = [];
  const startedAt = new Date(started).toISOString();
  try {
    const repository = await context.repository(item.repository);
    await repository.init();
    const source = createSource(context.resolvedSource(item.dataset), {
      dataset: item.dataset,
      baseDir: context.planDir,
    });
    await source.check();
    // Measured while the units are stored (it reads every table, as the dump does: in
    // parallel the two take little more than the longer one). PostgreSQL measures the very
    // snapshot it dumps; other sources are measured live, exact for a source at rest (under
    // writes a restore is then proven by the plan's checks, see restore-proof).
    const capture = source.capture
      ? await source.capture()
      : { units: await source.units(), fingerprint: source.fingerprint(), close: async () => {} };
    capture.fingerprint.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    emit({ type: 'dataset-start', dataset: item.dataset, run, units: capture.units.length });

    const { manifestResult, fingerprint } = await repository
      .session(async () => {
        written.push(
          ...(await storeUnits(capture.units, {
            repository,
            dataset: item.dataset,
            labels,
            emit,
            onStored: (snapshotId) => stored.push(snapshotId),
            ...(options.signal ? { signal: options.signal } : {}),
          })),
        );
        // The capture stays open until the fingerprint is done: its queries read the
        // snapshot the capture holds.
        const fingerprint = await capture.fingerprint;
        await capture.close();
        const manifest: Manifest = {
          format: MANIFEST_FORMAT,
          dataset: item.dataset,
          run,
          organization: context.plan.organization,
          planHash: context.loaded.contentHash,
          sourceType: item.sourceType,
          startedAt,
          finishedAt: new Date().toISOString(),
          units: written,
          fingerprint,
        };
        const manifestResult = await storeManifest(
          repository,
          manifest,
          labelsToTags({ ...labels, unit: MANIFEST_FILENAME }),
        );
        return { manifestResult, fingerprint };
      })
      .finally(() => capture.close());
    const bytesAdded = written.reduce((sum, u) => sum + u.bytesAdded, manifestResult.dataAdded);
    const bytesProcessed = written.reduce((sum, u) => sum + u.bytesProcessed, 0);
    await state.markSnapshotComplete(record.id, {
      resticSnapshotId: manifestResult.snapshotId,
      bytesAdded,
      totalBytes: bytesProcessed,
      fingerprint: fingerprint as unknown as Record<string, unknown>,
      units: written as unknown as Record<string, unknown>[],
    });
    const result: DatasetBackupResult = {
      dataset: item.dataset,
      run,
      repository: item.repository,
      ok: true,
      snapshotId: manifestResult.snapshotId,
      bytesAdded,
      bytesProcessed,
      durationMs: Date.now() - started,
      units: written,
    };
    await state.appendAudit({
      actor: options.actor ?? actor(),
      action: 'backup.run',
      target: `dataset:${item.dataset}`,
      outcome: 'ok',
      details: { run, snapshot: manifestResult.snapshotId, bytesAdded, bytesProcessed },
    });
    emit({ type: 'dataset-done', result });
    return result;
  } catch (cause) {
    const error = coerceError(cause);
    const message = describeError(error);
    // The run's unit snapshots belong to no complete run: remove them now rather than leave
    // them to prune.
    if (stored.length > 0) {
      await context
        .repository(item.repository)
        .then((repository) => repository.forgetIds(stored))
        .catch(() => {});
    }
    await state.markSnapshotFailed(record.id, { error: message });
    await state.appendAudit({
      actor: options.actor ?? actor(),
      action: 'backup.run',
      target: `dataset:${item.dataset}`,
      outcome: options.signal?.aborted ? 'interrupted' : 'failed',
      details: { run, error: message },
    });
    emit({ type: 'dataset-failed', dataset: item.dataset, error: message });
    return failedResult(item, run, started, message);
  }
}

/**
 * The manifest closes the run: the one snapshot tagged complete, stored from a local file
 * that restic reads itself, so that it can be tagged complete as it is saved (see
 * `backupFile`). Before, every unit was retagged complete too: two more restic commands per
 * unit, each deriving the repository key anew (0.5 to 1 s on the development machine).
 */
async function storeManifest(
  repository: Awaited<ReturnType<ProtectContext['repository']>>,
  manifest: Manifest,
  tags: string[],
) {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-manifest-'));
  try {
    const file = join(dir, MANIFEST_FILENAME);
    writeFileSync(file, JSON.stringify(manifest, null, 2) + '\n');
    return await repository.backupFile({ path: file, filename: MANIFEST_FILENAME, tags });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export { storedName };

function failedResult(
  item: BackupPlanItem,
  run: string,
  started: number,
  error: string,
): DatasetBackupResult {
  return {
    dataset: item.dataset,
    run,
    repository: item.repository,
    ok: false,
    bytesAdded: 0,
    bytesProcessed: 0,
    durationMs: Date.now() - started,
    units: [],
    error,
  };
}

/** The error for a backup command whose datasets did not all succeed. */
export function backupFailure(results: DatasetBackupResult[]): OperationError | undefined {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) return undefined;
  return new OperationError(
    `backup failed for ${failed.map((f) => f.dataset).join(', ')}: ${failed.map((f) => f.error).join('; ')}`,
    { hint: 'see `lifeboat status` for the recorded errors; fix the cause and run the backup again' },
  );
}
