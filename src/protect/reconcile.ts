/**
 * After a crash the state store can lag behind the repository, which is the source of truth.
 * Two windows are known, both left with a trace in the state store:
 *
 * - a backup killed after its manifest was stored and before its record was marked
 *   complete: the run is a recovery point in the repository and `pending` in the state store;
 * - a prune killed after restic forgot runs and before their records were deleted: records
 *   marked `forgettingSince` whose runs may be gone.
 *
 * `reconcileDataset` settles both from the repository, under the dataset's backup lock (so
 * that it never judges a run a live backup is writing). With nothing to settle it costs two
 * state store queries and no restic command, so every command may run it first.
 */
import { LifeboatError, coerceError } from '../errors.js';
import { acquireLock } from '../engines/restic/lock.js';
import type { Snapshot } from '../engines/restic/output.js';
import type { SnapshotRecord, StateStore } from '../state/store.js';
import { actor } from './audit.js';
import { INTERRUPTED_ERROR } from './backup-result.js';
import type { ProtectContext } from './context.js';
import { backupRunning, datasetLockKey, lockDir } from './dataset-lock.js';
import { manifestCompletion, readManifest } from './manifest-read.js';
import { protectionKind } from './methods/kind.js';
import { listOrNothing } from './repository-snapshots.js';
import { groupRuns } from './retention.js';
import { TAG_LIFEBOAT } from './tags.js';

export interface ReconcileReport {
  dataset: string;
  /** Runs found complete in the repository and recorded so. */
  completed: string[];
  /** Runs recorded failed: interrupted before their manifest was stored. */
  failed: string[];
  /** Records of runs the repository no longer has (a prune was cut off): deleted. */
  removed: string[];
  /** Records a prune had marked but whose runs are still there: recovery points again. */
  kept: string[];
  /** Why some records could not be settled now; they are tried again by the next command. */
  errors: string[];
}

export interface ReconcileOptions {
  /** The caller holds the dataset's backup lock already (backup, prune, catalog rebuild). */
  locked?: boolean;
}

/**
 * Settles what a crash left of `dataset` (see the file's comment). Without `locked` it
 * takes the dataset's lock without waiting, and does nothing while someone else holds it:
 * that holder is alive and will finish, or settle, the work itself. Never throws for the
 * repository's sake: what cannot be settled now is reported in `errors` and stays as it is.
 */
export async function reconcileDataset(
  context: ProtectContext,
  dataset: string,
  options: ReconcileOptions = {},
): Promise<ReconcileReport | undefined> {
  const state = await context.state();
  if (!(await unsettled(state, dataset))) return undefined;
  if (options.locked) return settle(context, state, dataset);
  if (backupRunning(context.homeDir, dataset)) return undefined;
  let lock;
  try {
    lock = await acquireLock(datasetLockKey(context.homeDir, dataset), {
      dir: lockDir(context.homeDir),
      waitMs: 0,
    });
  } catch (error) {
    if (error instanceof LifeboatError) return undefined; // taken meanwhile: its holder settles it
    throw error;
  }
  try {
    return await settle(context, state, dataset);
  } finally {
    await lock.release();
  }
}

async function unsettled(state: StateStore, dataset: string): Promise<boolean> {
  if ((await state.listSnapshots(dataset, { status: 'pending', limit: 1 })).length > 0) return true;
  return (await state.listForgettingSnapshots(dataset)).length > 0;
}

async function settle(context: ProtectContext, state: StateStore, dataset: string): Promise<ReconcileReport> {
  const report: ReconcileReport = { dataset, completed: [], failed: [], removed: [], kept: [], errors: [] };
  const pending = await state.listSnapshots(dataset, { status: 'pending', limit: 10_000 });
  const forgetting = await state.listForgettingSnapshots(dataset);
  // Physical runs have no manifest in restic: a pending one whose process died failed.
  const logical = protectionKind(context.dataset(dataset)) === 'logical';
  const listings = new Map<string, Promise<Snapshot[] | undefined>>();
  const listing = (repositoryId: string) => {
    let list = listings.get(repositoryId);
    if (!list) {
      list = context
        .repository(repositoryId)
        .then((repository) =>
          listOrNothing(() => repository.snapshots({ tags: [TAG_LIFEBOAT, `dataset=${dataset}`] })),
        );
      listings.set(repositoryId, list);
    }
    return list;
  };

  for (const record of pending) {
    const run = record.runId ?? record.id;
    try {
      const completed =
        logical && record.runId ? await completeFromRepository(context, record, listing) : false;
      if (completed) report.completed.push(run);
      else {
        await state.markSnapshotFailed(record.id, { error: INTERRUPTED_ERROR });
        report.failed.push(run);
      }
    } catch (cause) {
      report.errors.push(`run ${run}: ${settleError(cause)}`);
    }
  }

  for (const record of forgetting) {
    const run = record.runId ?? record.id;
    try {
      const snapshots = await listing(record.repository);
      if (snapshots?.some((s) => s.id === record.resticSnapshotId)) {
        await state.clearSnapshotForgetting(record.id);
        report.kept.push(run);
      } else {
        await state.deleteSnapshot(record.id);
        report.removed.push(run);
      }
    } catch (cause) {
      report.errors.push(`run ${run}: ${settleError(cause)}`);
    }
  }
  if (report.completed.length + report.removed.length + report.kept.length > 0) {
    await state.appendAudit({
      actor: actor(),
      action: 'catalog.reconcile',
      target: `dataset:${dataset}`,
      outcome: report.errors.length > 0 ? 'partial' : 'ok',
      details: { ...report },
    });
  }
  return report;
}

/** Marks the pending record complete when the repository holds its run's complete manifest. */
async function completeFromRepository(
  context: ProtectContext,
  record: SnapshotRecord,
  listing: (repositoryId: string) => Promise<Snapshot[] | undefined>,
): Promise<boolean> {
  const snapshots = await listing(record.repository);
  const run = groupRuns((snapshots ?? []).filter((s) => s.tags.includes(`run=${record.runId}`)))[0];
  if (!run?.manifest) return false;
  const manifest = await readManifest(await context.repository(record.repository), run.manifest.id);
  if (manifest.run !== record.runId || manifest.dataset !== record.dataset) return false;
  await (await context.state()).markSnapshotComplete(record.id, manifestCompletion(run.manifest, manifest));
  return true;
}

function settleError(cause: unknown): string {
  const error = coerceError(cause);
  if (!(error instanceof LifeboatError)) throw error;
  return error.hint ? `${error.message} (${error.hint})` : error.message;
}
