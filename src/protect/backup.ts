/**
 * Backing up datasets: `planBackup` decides what to do from the plan alone; `runBackup`
 * does it, one dataset at a time under its backup lock, each by its protection method (a
 * logical run into restic, a physical one with pgBackRest; see methods/).
 */
import { OperationError, UsageError } from '../errors.js';
import type { Plan } from '../plan/schema.js';
import type { BackupPlan, DatasetBackupResult, RunBackupOptions } from './backup-result.js';
import type { ProtectContext } from './context.js';
import { datasetLockKey, lockDir } from './dataset-lock.js';
import { acquireLock } from '../engines/restic/lock.js';
import { datasetMethod, protectionMethod } from './methods/index.js';
import { reconcileDataset } from './reconcile.js';

export type {
  BackupEvent,
  BackupPlan,
  BackupPlanItem,
  DatasetBackupResult,
  RunBackupOptions,
} from './backup-result.js';
import { isProtectable } from '../stores/index.js';
import { reapStaleTempDirs } from '../system/private-temp.js';

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
    else if (!isProtectable(source))
      plan_.skipped.push({ dataset: id, reason: 'kept by a vendor (external source)' });
    else
      plan_.items.push(datasetMethod(datasets[id]!).planBackup({ id, source, repository: repositoryOf(id) }));
  }
  return plan_;
}

export async function runBackup(
  context: ProtectContext,
  backupPlan: BackupPlan,
  options: RunBackupOptions = {},
): Promise<DatasetBackupResult[]> {
  const results: DatasetBackupResult[] = [];
  // What a SIGKILLed run left in its private temp dirs (a manifest) goes before new work starts.
  reapStaleTempDirs();
  for (const item of backupPlan.items) {
    if (options.signal?.aborted) break;
    // Never two backups of one dataset at once, across processes: the second fails fast.
    const lock = await acquireLock(datasetLockKey(context.homeDir, item.dataset), {
      dir: lockDir(context.homeDir),
      waitMs: 0,
    });
    try {
      // A run still pending while we hold the lock belongs to a process that died: recorded
      // complete if its manifest made it into the repository, failed if not.
      await reconcileDataset(context, item.dataset, { locked: true });
      results.push(await protectionMethod(item.method).backup(context, item, options));
    } finally {
      await lock.release();
    }
  }
  return results;
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
