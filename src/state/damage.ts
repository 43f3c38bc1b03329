/**
 * What a damaged SQLite state store, or a full disk under it, means for the user. Every
 * command that touches a damaged store stops with the same error, so that no work writes
 * records into a file whose pages are wrong, and the user is told how to get the records back:
 * they are rebuilt from the repositories, which hold every recovery point's manifest.
 */
import { EnvironmentError } from '../errors.js';

const CORRUPTION = new Set([
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'SQLITE_CORRUPT_INDEX',
  'SQLITE_CORRUPT_VTAB',
]);
const FULL = new Set(['SQLITE_FULL', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_SHMSIZE']);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isCorruption(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && CORRUPTION.has(code);
}

/** How to get the records back, for the store at `file`. */
export function rebuildHint(file: string): string {
  return (
    'rebuild its records from the repositories into a new file: ' +
    'lifeboat catalog rebuild --into NEW_FILE; ' +
    `then move ${file} and its -wal and -shm files aside and NEW_FILE to ${file}. ` +
    'Verifications, failed runs and the audit log live only in the state store: keep the damaged file'
  );
}

/** `atOpen`: found while opening it, so the command has not read or written any record. */
export function damagedStoreError(
  file: string,
  problem: string,
  options: { cause?: unknown; atOpen?: boolean } = {},
): EnvironmentError {
  const code = codeOf(options.cause);
  const what = code === 'SQLITE_NOTADB' ? 'is not a SQLite database, or its header is damaged' : 'is damaged';
  const message = options.atOpen
    ? `cannot open the state store ${file}: it ${what} (${problem})`
    : `the state store ${file} ${what} (${problem})`;
  return new EnvironmentError(message, {
    cause: options.cause,
    hint:
      (code === 'SQLITE_NOTADB'
        ? 'if it is not a SQLite database, point the state store elsewhere; if it is, '
        : '') + rebuildHint(file),
    details: { path: file, reason: 'state-store-damaged', ...(code ? { code } : {}) },
  });
}

/**
 * The error to raise for a SQLite failure met while using the store at `file`: a damaged
 * file or a full disk becomes an environment error saying so; anything else is returned as
 * it is.
 */
export function storeUseError(file: string, error: unknown): unknown {
  const code = codeOf(error);
  if (code === undefined) return error;
  const message = (error as Error).message;
  if (CORRUPTION.has(code)) return damagedStoreError(file, `${message}, ${code}`, { cause: error });
  if (FULL.has(code)) {
    return new EnvironmentError(`no space left on device: cannot write the state store ${file}`, {
      cause: error,
      details: { path: file, code },
      hint: `free space on the file system that holds ${file} (df -h shows how full it is), then retry`,
    });
  }
  return error;
}
