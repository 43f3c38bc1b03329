/** The shape of one doctor check, and the helpers every check uses. */
import { LifeboatError, coerceError } from '../errors.js';

export interface DoctorCheck {
  /** What was checked, e.g. `tool pg_dump`, `repository local`, `dataset app`. */
  name: string;
  /** False: the plan cannot run as it is (doctor exits 3). */
  ok: boolean;
  /** What was found: a version, a path, the error. */
  detail: string;
  /** What to do about it. */
  fix?: string;
  /** Ok, but worth knowing (an old restic, a repository not created yet, an optional tool missing). */
  warning?: boolean;
}

/** How long a repository may take to answer `restic cat config`. */
export const REPOSITORY_TIMEOUT_MS = 15_000;
/** Sources' tools time out on their own (10 s connect timeouts); this is the backstop. */
export const SOURCE_TIMEOUT_MS = 30_000;

/** A failed check from an error: Lifeboat's errors carry their own hint; other errors get `fix`. */
export function failed(name: string, error: unknown, fix: string): DoctorCheck {
  const e = coerceError(error);
  if (e instanceof LifeboatError) return { name, ok: false, detail: e.message, fix: e.hint ?? fix };
  return { name, ok: false, detail: e.message, fix };
}

export async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
