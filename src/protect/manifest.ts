/**
 * The manifest closes every backup run: a small JSON file stored as the run's last snapshot.
 * It lists the run's unit snapshots and the fingerprint a restore must reproduce, so the
 * repository alone can tell a complete run from an interrupted one and prove a restore,
 * with or without Lifeboat.
 */
import type { Fingerprint } from '../stores/fingerprint.js';

export const MANIFEST_FILENAME = 'lifeboat-manifest.json';
export const MANIFEST_FORMAT = 'lifeboat-manifest/1';

export interface ManifestUnit {
  /** `stream`: one file in the snapshot; `paths`: files and directories. */
  kind: 'stream' | 'paths';
  /** Stream units: the file's name in the snapshot. Paths units: the backed-up paths joined. */
  filename: string;
  /** Stream units: the file's name in the restic snapshot (restic keeps it at the root). */
  stored?: string;
  description: string;
  snapshotId: string;
  paths?: string[];
  bytesAdded: number;
  bytesProcessed: number;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  dataset: string;
  run: string;
  organization: string;
  planHash: string;
  sourceType: string;
  startedAt: string;
  finishedAt: string;
  units: ManifestUnit[];
  fingerprint: Fingerprint | null;
}

export function parseManifest(text: string): Manifest {
  const value = JSON.parse(text) as Partial<Manifest>;
  if (value.format !== MANIFEST_FORMAT || !Array.isArray(value.units) || typeof value.dataset !== 'string') {
    throw new Error(`not a Lifeboat manifest (format ${String(value.format)})`);
  }
  return value as Manifest;
}
