/**
 * Reading a run's manifest back from the repository, and what it says about the run in the
 * state store's terms: how `catalog rebuild` and the crash reconciliation record a run that
 * the backup which wrote it could not record itself.
 */
import { OperationError, coerceError } from '../errors.js';
import type { ResticRepository, Snapshot } from '../engines/restic/repository.js';
import type { SnapshotCompletion } from '../state/store.js';
import { MANIFEST_FILENAME, parseManifest, type Manifest } from './manifest.js';

export async function readManifest(repository: ResticRepository, snapshotId: string): Promise<Manifest> {
  const handle = await repository.dumpStream(snapshotId, MANIFEST_FILENAME);
  const chunks: Buffer[] = [];
  for await (const chunk of handle.stream) chunks.push(chunk as Buffer);
  await handle.done;
  try {
    return parseManifest(Buffer.concat(chunks).toString('utf8'));
  } catch (cause) {
    throw new OperationError(
      `${MANIFEST_FILENAME} of snapshot ${snapshotId.slice(0, 8)} cannot be read: ${coerceError(cause).message}`,
      { cause },
    );
  }
}

/** The completion the backup would have recorded: the manifest's snapshot, units and fingerprint. */
export function manifestCompletion(snapshot: Snapshot, manifest: Manifest): SnapshotCompletion {
  return {
    resticSnapshotId: snapshot.id,
    bytesAdded: manifest.units.reduce((sum, u) => sum + u.bytesAdded, 0),
    totalBytes: manifest.units.reduce((sum, u) => sum + u.bytesProcessed, 0),
    fingerprint: manifest.fingerprint as unknown as Record<string, unknown> | null,
    units: manifest.units as unknown as Record<string, unknown>[],
    finishedAt: manifest.finishedAt,
  };
}
