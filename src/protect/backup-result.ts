/**
 * What a backup run is made of, whichever method protects the dataset: the plan's items, the
 * events a caller shows as progress, and each dataset's result.
 */
import type { BackupProgress } from '../engines/restic/repository.js';
import type { ManifestUnit } from './manifest.js';
import type { ProtectionKind } from './methods/kind.js';

/** What a run whose process died before it completed is recorded as failed with. */
export const INTERRUPTED_ERROR = 'interrupted: the process running this backup ended before it completed';

export interface BackupPlanItem {
  dataset: string;
  repository: string;
  sourceType: string;
  method: ProtectionKind;
}

export interface BackupPlan {
  items: BackupPlanItem[];
  /** Datasets left out, with why (no source, vendor-managed). */
  skipped: { dataset: string; reason: string }[];
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

/** A dataset whose run failed: nothing stored, the error in words. */
export function failedResult(
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
