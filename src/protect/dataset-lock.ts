/**
 * The per-dataset lock: at most one backup (or maintenance of its runs) of a dataset at a time,
 * across processes. Backup, prune and the scheduler must name it the same way.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isStale, lockPath, type LockHolder } from '../engines/restic/lock.js';

export function datasetLockKey(homeDir: string, dataset: string): string {
  return `backup of dataset ${dataset} (${homeDir})`;
}

export function lockDir(homeDir: string): string {
  return join(homeDir, 'locks');
}

/** Whether a live process holds the dataset's backup lock, read without taking it. */
export function backupRunning(homeDir: string, datasetId: string): boolean {
  let holder: LockHolder;
  try {
    holder = JSON.parse(
      readFileSync(lockPath(lockDir(homeDir), datasetLockKey(homeDir, datasetId)), 'utf8'),
    ) as LockHolder;
  } catch {
    return false; // no lock file (or one being written): nothing is running
  }
  return !isStale(holder);
}
