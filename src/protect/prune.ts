/**
 * Retention: `planPrune` says, from the plan alone, which datasets of which repository are
 * pruned under which policy; `applyPrune` reads each repository's snapshots, decides with
 * retention.ts (whole runs only; complete runs only), forgets, prunes the repository's
 * data, then drops the forgotten recovery points from the state store and audits it.
 *
 * Serialisation: a repository is pruned under its maintenance lock and the backup lock of
 * every dataset in it (the lock `runBackup` takes), so no backup of those datasets is
 * writing a run while its leftovers are judged; restic's exclusive lock (taken by
 * `forget --prune`) guards the repository's data against anyone else.
 *
 * Order matters for crashes: the state store forgets a run only after restic did, and marks
 * it (`forgettingSince`) before. A crash in between leaves marked records of runs that may
 * no longer exist (never the reverse: a run that exists but that Lifeboat forgot); the next
 * command settles them against the repository (reconcile.ts), and until then no restore
 * starts from one.
 */
import { backupRunning, datasetLockKey, lockDir } from './dataset-lock.js';
import { EnvironmentError, InterruptedError, LifeboatError, coerceError } from '../errors.js';
import type { Plan } from '../plan/schema.js';
import { actor } from './audit.js';
import { RepositoryNotCreatedError, type ProtectContext } from './context.js';
import { datasetMethod, protectionMethod } from './methods/index.js';
import { datasetRepository as repositoryOfDataset, defaultRepositoryOf } from './methods/kind.js';
import { acquireLock, type HeldLock } from '../engines/restic/lock.js';
import { pausePoint } from './pause-point.js';
import { reconcileDataset } from './reconcile.js';
import { listOrNothing, planTags } from './repository-snapshots.js';
import {
  decidePrune,
  describePolicy,
  effectiveRetention,
  type DatasetPruneDecision,
  type RetentionPolicy,
} from './retention.js';
import { isProtectable } from '../stores/index.js';

export interface PrunePlanDataset {
  dataset: string;
  policy: RetentionPolicy;
  /** The plan gave no `retention:`, so DEFAULT_RETENTION applies. */
  defaultPolicy: boolean;
}

export interface PrunePlanRepository {
  repository: string;
  datasets: PrunePlanDataset[];
}

export interface PrunePlan {
  /** restic tags that select this plan's snapshots in a repository (`lifeboat`, `org=`). */
  tags: string[];
  repositories: PrunePlanRepository[];
  /** Datasets in pgBackRest repositories: `pgbackrest expire` applies their retention. */
  physical: string[];
  skipped: { dataset: string; reason: string }[];
}

/** The repository a dataset backs up to, from the plan alone (as ProtectContext.repositoryOf). */
export function datasetRepository(plan: Plan, datasetId: string): string {
  const dataset = plan.datasets?.[datasetId];
  return dataset ? repositoryOfDataset(dataset) : defaultRepositoryOf('logical');
}

/** Which datasets are pruned, where, and how. No I/O. Datasets Lifeboat does not back up are skipped. */
export function planPrune(plan: Plan): PrunePlan {
  const byRepository = new Map<string, PrunePlanDataset[]>();
  const skipped: PrunePlan['skipped'] = [];
  const physical: string[] = [];
  for (const [id, dataset] of Object.entries(plan.datasets ?? {})) {
    if (!dataset.source) {
      skipped.push({ dataset: id, reason: 'no source in the plan' });
      continue;
    }
    if (!isProtectable(dataset.source)) {
      skipped.push({ dataset: id, reason: 'kept by a vendor (external source)' });
      continue;
    }
    const repository = datasetRepository(plan, id);
    // A dataset whose method expires its own backups, or one pointed at a pgBackRest
    // repository (where restic has nothing to prune; expire then says what is wrong).
    if (plan.repositories?.[repository]?.type === 'pgbackrest' || datasetMethod(dataset).expire) {
      physical.push(id);
      continue;
    }
    const list = byRepository.get(repository) ?? [];
    list.push({
      dataset: id,
      policy: effectiveRetention(dataset.retention),
      defaultPolicy: dataset.retention === undefined,
    });
    byRepository.set(repository, list);
  }
  return {
    tags: planTags(plan),
    repositories: [...byRepository].map(([repository, datasets]) => ({ repository, datasets })),
    physical,
    skipped,
  };
}

/**
 * The key of the lock `runBackup` holds while it backs up a dataset. It must stay equal to
 * the one in backup.ts (prune.test.ts proves it: holding this lock makes a backup fail fast).
 */
export { backupRunning, datasetLockKey, lockDir } from './dataset-lock.js';
export { listOrNothing, planTags } from './repository-snapshots.js';

export interface RepositoryPruneReport {
  repository: string;
  datasets: DatasetPruneDecision[];
  /** Snapshot ids forgotten (none in a dry run). */
  forgotten: string[];
  /** Whether `restic prune` ran (only when something was forgotten). */
  pruned: boolean;
  /** Recovery points removed from the state store. */
  stateRecordsDeleted: number;
  /** Set when the repository could not be pruned; the others still were. `kind` as LifeboatError's. */
  error?: { kind: string; message: string };
  /** Set when there was nothing to look at (the repository was never created). */
  note?: string;
}

export interface PhysicalPruneReport {
  dataset: string;
  /** Backup sets pgBackRest expired (none in a dry run, which does not ask it). */
  expired: string[];
  kept: string[];
  error?: { kind: string; message: string };
}

export interface PruneReport {
  dryRun: boolean;
  repositories: RepositoryPruneReport[];
  physical: PhysicalPruneReport[];
  skipped: PrunePlan['skipped'];
}

export interface ApplyPruneOptions {
  /** Decide and report, change nothing (no locks taken either). Default: false. */
  dryRun?: boolean;
  /** Who acts, for the audit log. Default: `cli:$USER`. */
  actor?: string;
  /** For tests. Default: the current time. */
  now?: () => Date;
  /** Aborted: no repository is forgotten from then on (one being pruned is left as it is). */
  signal?: AbortSignal;
}

export async function applyPrune(
  context: ProtectContext,
  prunePlan: PrunePlan,
  options: ApplyPruneOptions = {},
): Promise<PruneReport> {
  const report: PruneReport = {
    dryRun: options.dryRun === true,
    repositories: [],
    physical: [],
    skipped: prunePlan.skipped,
  };
  for (const item of prunePlan.repositories) {
    if (options.signal?.aborted) break;
    report.repositories.push(await pruneRepository(context, prunePlan.tags, item, options));
  }
  for (const dataset of prunePlan.physical) {
    if (options.signal?.aborted) break;
    report.physical.push(await prunePhysical(context, dataset, options));
  }
  return report;
}

/** pgBackRest's retention, written into its config from the plan's; a dry run changes nothing and reports nothing expired. */
async function prunePhysical(
  context: ProtectContext,
  dataset: string,
  options: ApplyPruneOptions,
): Promise<PhysicalPruneReport> {
  if (options.dryRun) return { dataset, expired: [], kept: [] };
  try {
    // A dataset whose method has no expire of its own sits in a pgBackRest repository by
    // mistake: pgBackRest's expire refuses it with what to change.
    const method = datasetMethod(context.dataset(dataset));
    const expire = method.expire ?? protectionMethod('physical').expire!;
    return {
      dataset,
      ...(await expire(context, dataset, options.actor ? { actor: options.actor } : {})),
    };
  } catch (cause) {
    const error = coerceError(cause);
    return {
      dataset,
      expired: [],
      kept: [],
      error: { kind: error instanceof LifeboatError ? error.kind : 'internal', message: error.message },
    };
  }
}

async function pruneRepository(
  context: ProtectContext,
  tags: string[],
  item: PrunePlanRepository,
  options: ApplyPruneOptions,
): Promise<RepositoryPruneReport> {
  const report: RepositoryPruneReport = {
    repository: item.repository,
    datasets: [],
    forgotten: [],
    pruned: false,
    stateRecordsDeleted: 0,
  };
  const dryRun = options.dryRun === true;
  const locks: HeldLock[] = [];
  const state = await context.state();
  try {
    if (!dryRun) {
      const datasets = item.datasets.map((d) => d.dataset);
      locks.push(
        ...(await lockForMaintenance(
          context,
          item.repository,
          datasets,
          `prune repository ${item.repository}`,
        )),
      );
    }
    const repository = await context.repository(item.repository).catch((error: unknown) => {
      if (error instanceof RepositoryNotCreatedError) return undefined;
      throw error;
    });
    const snapshots = repository && (await listOrNothing(() => repository.snapshots({ tags })));
    if (repository === undefined || snapshots === undefined) {
      report.note = 'the repository does not exist yet: nothing to prune';
      return report;
    }
    const now = options.now?.() ?? new Date();
    // What an earlier prune or backup cut off is settled first, so that its runs are judged
    // by what they are (complete, failed, gone) rather than by a stale record.
    if (!dryRun)
      for (const { dataset } of item.datasets) await reconcileDataset(context, dataset, { locked: true });
    for (const { dataset, policy } of item.datasets) {
      // Dead for sure: runs recorded failed, and runs recorded pending while no process holds
      // the dataset's backup lock (we hold it, unless this is a dry run): their process died.
      const dead = await state.listSnapshots(dataset, { status: 'failed', limit: 10_000 });
      if (!dryRun || !backupRunning(context.homeDir, dataset)) {
        dead.push(...(await state.listSnapshots(dataset, { status: 'pending', limit: 10_000 })));
      }
      report.datasets.push(
        decidePrune({
          dataset,
          policy,
          snapshots: snapshots.filter((s) => s.tags.includes(`dataset=${dataset}`)),
          now,
          deadRuns: new Set(dead.flatMap((r) => (r.runId ? [r.runId] : []))),
        }),
      );
    }
    if (dryRun) return report;
    if (options.signal?.aborted)
      throw new InterruptedError('interrupted before anything was forgotten', {
        hint: 'run lifeboat prune again',
      });
    const ids = report.datasets.flatMap((d) => [...d.remove, ...d.leftovers].flatMap((v) => v.snapshotIds));
    // Marked before restic forgets, so that a crash between the two leaves the next command
    // a record to check against the repository (reconcile.ts) rather than a silent lie.
    await state.markSnapshotsForgetting(
      report.datasets.flatMap((d) => d.remove.flatMap((r) => (r.manifestId ? [r.manifestId] : []))),
    );
    await pausePoint('prune:marked');
    if (ids.length > 0) {
      await repository.forgetIds(ids, { prune: true });
      report.forgotten = ids;
      report.pruned = true;
    }
    await pausePoint('prune:forgotten');
    for (const decision of report.datasets) {
      for (const removed of decision.remove) {
        if (removed.manifestId && (await state.deleteSnapshotByResticId(removed.manifestId)))
          report.stateRecordsDeleted++;
      }
    }
    await audit(context, options, report, 'ok');
    return report;
  } catch (cause) {
    // A repository that cannot be pruned now (locked, unreachable) must not stop the others;
    // anything else is a bug and goes to the CLI's catch-all.
    const error = coerceError(cause);
    report.error = {
      kind: error instanceof LifeboatError ? error.kind : 'internal',
      message:
        error instanceof LifeboatError && error.hint ? `${error.message} (${error.hint})` : error.message,
    };
    if (!dryRun) await audit(context, options, report, 'failed').catch(() => undefined);
    if (!(error instanceof LifeboatError)) throw error;
    return report;
  } finally {
    for (const lock of locks.reverse()) await lock.release();
  }
}

/**
 * The repository's maintenance lock, then the backup lock of each of `datasets`, all without
 * waiting: a backup in progress means "do this later", not "stall the backup". Prune and
 * catalog rebuild take it, so they never run at once on a repository, nor beside a backup.
 */
export async function lockForMaintenance(
  context: ProtectContext,
  repository: string,
  datasets: string[],
  what: string,
): Promise<HeldLock[]> {
  const held: HeldLock[] = [];
  const dir = lockDir(context.homeDir);
  try {
    held.push(
      await acquireLock(`maintenance of repository ${repository} (${context.homeDir})`, { dir, waitMs: 0 }),
    );
    for (const dataset of [...datasets].sort()) {
      held.push(await acquireLock(datasetLockKey(context.homeDir, dataset), { dir, waitMs: 0 }));
    }
    return held;
  } catch (error) {
    for (const lock of held.reverse()) await lock.release();
    if (error instanceof EnvironmentError) {
      throw new EnvironmentError(`cannot ${what} now: ${error.message}`, {
        hint: 'a backup, a prune or a catalog rebuild is running there; try again when it has finished',
        cause: error,
      });
    }
    throw error;
  }
}

async function audit(
  context: ProtectContext,
  options: ApplyPruneOptions,
  report: RepositoryPruneReport,
  outcome: 'ok' | 'failed',
): Promise<void> {
  const state = await context.state();
  await state.appendAudit({
    actor: options.actor ?? actor(),
    action: 'prune.run',
    target: `repository:${report.repository}`,
    outcome,
    details: {
      removedRuns: report.datasets.flatMap((d) =>
        d.remove.map((r) => ({ dataset: d.dataset, run: r.run, manifest: r.manifestId ?? null })),
      ),
      leftoverRuns: report.datasets.flatMap((d) =>
        d.leftovers.map((r) => ({ dataset: d.dataset, run: r.run })),
      ),
      keptRuns: report.datasets.reduce((n, d) => n + d.keep.length, 0),
      policies: Object.fromEntries(report.datasets.map((d) => [d.dataset, describePolicy(d.policy)])),
      forgottenSnapshots: report.forgotten.length,
      stateRecordsDeleted: report.stateRecordsDeleted,
      ...(report.error ? { error: report.error.message } : {}),
    },
  });
}
