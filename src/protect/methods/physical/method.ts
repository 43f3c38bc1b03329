/**
 * The physical method: pgBackRest takes base backups and archives WAL; a dataset restores to
 * any point in time and its WAL archive's age is measured live. The parts that only drive
 * the pgbackrest binary are in engines/pgbackrest/.
 */
import { LifeboatError, coerceError, describeError, UsageError } from '../../../errors.js';
import { actor } from '../../audit.js';
import {
  failedResult,
  type BackupPlanItem,
  type DatasetBackupResult,
  type RunBackupOptions,
} from '../../backup-result.js';
import type { ProtectContext } from '../../context.js';
import type { ProtectionMethod } from '../method.js';
import { backupPhysical, expirePhysical } from './backup.js';
import { datasetExposure } from './exposure.js';
import { restorePhysical } from './restore.js';
import { verifyPhysicalDataset } from './verify-dataset.js';
import { asPostgres } from '../../../stores/index.js';

export const physicalMethod: ProtectionMethod = {
  kind: 'physical',
  planBackup: ({ id, source, repository }) => {
    if (asPostgres(source) === undefined) {
      throw new UsageError(
        `dataset '${id}': physical backups are for PostgreSQL sources, not ${source.type}`,
        {
          hint: 'use `method: logical` (the default) for this dataset',
        },
      );
    }
    return { dataset: id, repository, sourceType: source.type, method: 'physical' };
  },
  backup: backupRun,
  expire: expirePhysical,
  verify: (context, id, emit) => verifyPhysicalDataset(context, id, emit),
  restoreToPoint: restorePhysical,
  exposure: {
    applies: (dataset) => dataset.backup?.wal_archive !== false,
    measure: datasetExposure,
  },
};

/** pgBackRest does the work and keeps its own records; the result is reported like a logical run. */
async function backupRun(
  context: ProtectContext,
  item: BackupPlanItem,
  options: RunBackupOptions,
): Promise<DatasetBackupResult> {
  const emit = options.onEvent ?? (() => {});
  const started = Date.now();
  emit({ type: 'dataset-start', dataset: item.dataset, run: 'pgbackrest', units: 1 });
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
