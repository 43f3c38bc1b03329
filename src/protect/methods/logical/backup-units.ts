/**
 * Storing the units of one backup run. They go side by side (restic lets several backups
 * share a repository), two at a time: the small units (PostgreSQL's roles, a few KB) then
 * cost no time of their own beside the large dump, whose restic would otherwise wait for
 * theirs to derive the repository key, start, and end. More at once would only split the
 * same disks and cores between several dumps of one server.
 *
 * Each unit is saved tagged `lifeboat:pending` and never retagged: the run's manifest, the
 * only snapshot tagged complete, lists the units it vouches for. A unit that fails stops the
 * others; the caller forgets whatever was saved.
 */
import type { BackupEvent } from '../../backup-result.js';
import type { ManifestUnit } from '../../manifest.js';
import type { BackupProgress, BackupResult, ResticRepository } from '../../../engines/restic/repository.js';
import type { BackupUnit } from '../../../stores/index.js';
import { labelsToTags, type SnapshotLabels } from '../../tags.js';

/** How many units of a run are stored at once. */
export const UNITS_AT_ONCE = 2;

export interface StoreUnitsInput {
  repository: ResticRepository;
  dataset: string;
  labels: Omit<SnapshotLabels, 'unit'>;
  emit: (event: BackupEvent) => void;
  /** Called as soon as a unit's snapshot is saved. */
  onStored: (snapshotId: string) => void;
  signal?: AbortSignal;
}

/** Stores every unit; the result lists them in the units' order. */
export async function storeUnits(units: BackupUnit[], input: StoreUnitsInput): Promise<ManifestUnit[]> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (input.signal?.aborted) stop.abort();
  input.signal?.addEventListener('abort', onAbort, { once: true });
  const done: (ManifestUnit | undefined)[] = units.map(() => undefined);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < units.length && failure === undefined) {
      const index = next++;
      try {
        done[index] = await storeUnit(units[index]!, input, stop.signal);
      } catch (error) {
        // The first failure is the cause; the others' (cancelled) are its consequence.
        failure ??= { error };
        stop.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(UNITS_AT_ONCE, units.length) }, worker));
  } finally {
    input.signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure.error;
  return done as ManifestUnit[];
}

async function storeUnit(
  unit: BackupUnit,
  input: StoreUnitsInput,
  signal: AbortSignal,
): Promise<ManifestUnit> {
  const { dataset, emit, repository } = input;
  const name = unit.kind === 'stream' ? unit.filename : unit.paths.join(',');
  emit({ type: 'unit-start', dataset, unit: name });
  const common = {
    tags: labelsToTags({ ...input.labels, unit: unit.kind === 'stream' ? unit.filename : 'files' }),
    onProgress: (progress: BackupProgress) => emit({ type: 'progress', dataset, unit: name, progress }),
    signal,
    mark: 'pending' as const,
  };
  const result: BackupResult =
    unit.kind === 'stream'
      ? await repository.backupStream({
          producer: unit.producer,
          filename: storedName(unit.filename),
          ...common,
        })
      : await repository.backupPaths({ paths: unit.paths, exclude: unit.exclude, ...common });
  input.onStored(result.snapshotId);
  const stored: ManifestUnit = {
    kind: unit.kind,
    filename: name,
    ...(unit.kind === 'stream' ? { stored: storedName(unit.filename) } : {}),
    description: unit.description,
    snapshotId: result.snapshotId,
    ...(unit.kind === 'paths' ? { paths: unit.paths } : {}),
    bytesAdded: result.dataAdded,
    bytesProcessed: result.totalBytesProcessed,
  };
  emit({
    type: 'unit-done',
    dataset,
    unit: name,
    snapshotId: stored.snapshotId,
    bytesAdded: stored.bytesAdded,
    bytesProcessed: stored.bytesProcessed,
  });
  return stored;
}

/** restic stores a stream as one file at the snapshot's root: `postgres/app.dump` → `postgres__app.dump`. */
export function storedName(filename: string): string {
  return filename.replaceAll('/', '__');
}
