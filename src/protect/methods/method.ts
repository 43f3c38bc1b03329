/**
 * How a dataset is protected, as one interface the use cases call: backup, prune, verify,
 * restore and status pick the method once from the dataset (`protectionMethod`, `datasetMethod`) and never ask
 * which one it is. Two implement it: `logical` (the source's dump streamed into restic) and
 * `physical` (pgBackRest: base backups, the WAL archive, point-in-time recovery).
 *
 * Optional members are what only some methods do. Where a logical dataset has none, the
 * shared restic path applies: retention over its repository's runs (prune.ts), the restore
 * of a recovery point into a new target (restore.ts), and its proof (verify.ts).
 */
import type { Dataset, SourceConfig } from '../../plan/schema.js';
import type { BackupPlanItem, DatasetBackupResult, RunBackupOptions } from '../backup-result.js';
import type { ProtectContext } from '../context.js';
import type { VerifyEvent, VerifyResult } from '../verify-result.js';
import type { Exposure } from './physical/exposure.js';
import type { RestorePhysicalOptions, RestorePhysicalResult } from './physical/restore.js';
import type { ProtectionKind } from './kind.js';

export interface ProtectionMethod {
  readonly kind: ProtectionKind;

  /**
   * The dataset's item in a backup plan, from the plan alone; a UsageError when this method
   * cannot protect the source.
   */
  planBackup(input: { id: string; source: SourceConfig; repository: string }): BackupPlanItem;

  /**
   * One run, under the dataset's backup lock (runBackup holds it). A failed run is a result
   * with its error; only what the user must confirm first (a refusal) is thrown.
   */
  backup(
    context: ProtectContext,
    item: BackupPlanItem,
    options: RunBackupOptions,
  ): Promise<DatasetBackupResult>;

  /**
   * Applies the dataset's retention by itself, one dataset at a time, and says which backups
   * it removed and kept.
   */
  expire?(
    context: ProtectContext,
    datasetId: string,
    options: { actor?: string },
  ): Promise<{ expired: string[]; kept: string[] }>;

  /** Proves the dataset's newest recovery point in the method's own way. */
  verify?(
    context: ProtectContext,
    datasetId: string,
    emit: (event: VerifyEvent) => void,
  ): Promise<{ result: VerifyResult; recordId: string | null }>;

  /** Recovery to a point in time (a time, an LSN, a named restore point) into a new cluster. */
  restoreToPoint?(context: ProtectContext, options: RestorePhysicalOptions): Promise<RestorePhysicalResult>;

  /** What a loss of the source right now would cost, measured live (the WAL archive's age). */
  exposure?: {
    /** Whether there is anything to measure for this dataset (a physical one may not archive WAL). */
    applies(dataset: Dataset): boolean;
    measure(context: ProtectContext, datasetId: string): Promise<Exposure & { dataset: string }>;
  };
}
