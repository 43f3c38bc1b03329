/**
 * The per-dataset lock: at most one backup (or maintenance of its runs) of a dataset at a time,
 * across processes. Backup, prune and the scheduler must name it the same way.
 */
import { join } from 'node:path';

export function datasetLockKey(homeDir: string, dataset: string): string {
  return `backup of dataset ${dataset} (${homeDir})`;
}

export function lockDir(homeDir: string): string {
  return join(homeDir, 'locks');
}
