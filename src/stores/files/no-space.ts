/**
 * A staged copy that does not fit: said as what it is (ENOSPC), with the path the write
 * failed on, how much the recovery point holds and how much room there was, rather than as
 * a failed restic run.
 */
import { statfsSync } from 'node:fs';
import { EnvironmentError } from '../../errors.js';

/** Free bytes for this user on the file system of `dir`, or undefined where it cannot be told. */
export function freeBytes(dir: string): number | undefined {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

export function isNoSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (
    code === 'ENOSPC' ||
    code === 'EDQUOT' ||
    /no space left on device|disk quota exceeded/i.test(String(error))
  );
}

/** The error a full file system under the staged copy becomes. */
export function noSpaceError(
  error: unknown,
  where: { staging: string; fileSystemOf: string; needed: number; free: number | undefined },
): EnvironmentError {
  // restic's line names the file it could not write; "no space left on device" is said once.
  const said = (error instanceof Error ? error.message : String(error))
    .split('\n')[0]!
    .replace(/^no space left on device:\s*/i, '');
  const room =
    where.free === undefined
      ? ''
      : `; the recovery point holds ${mib(where.needed)} and the file system had ${mib(where.free)} free when the restore began`;
  const more =
    where.free !== undefined && where.needed > where.free
      ? `at least ${mib(where.needed - where.free)}`
      : 'space';
  return new EnvironmentError(`no space left on device (ENOSPC): ${said}${room}`, {
    cause: error,
    hint: `free ${more} on the file system that holds ${where.fileSystemOf} (df -h shows how full it is), or restore into a directory on a larger one`,
    details: { path: where.staging, neededBytes: where.needed, freeBytes: where.free },
  });
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
