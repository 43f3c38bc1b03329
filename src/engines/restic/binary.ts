/**
 * Finds the restic binary and what its version can do. Lifeboat supports Debian's
 * restic 0.14 and uses the newer flags and exit codes when the binary has them.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { EnvironmentError } from '../../errors.js';

const execFileAsync = promisify(execFile);

export interface ResticVersion {
  major: number;
  minor: number;
  patch: number;
  /** The first line of `restic version`, for diagnostics. */
  text: string;
}

export interface ResticFeatures {
  /** `backup --stdin-from-command`: restic runs the producer and fails on its non-zero exit (0.17.0). */
  stdinFromCommand: boolean;
  /** Exit codes 10 (no repository) and 11 (locked) (0.17.0); 12 (wrong password) came in 0.17.1. */
  distinctExitCodes: boolean;
  /** Exit code 12 for a wrong password (0.17.1). */
  wrongPasswordExitCode: boolean;
  /** `restore --json` prints status lines (0.16.0). */
  restoreJsonProgress: boolean;
}

export interface ResticBinary {
  path: string;
  version: ResticVersion;
  features: ResticFeatures;
}

/** Parses the output of `restic version`, e.g. `restic 0.14.0 compiled with go1.19.8 on linux/amd64`. */
export function parseResticVersion(output: string): ResticVersion {
  const match = /restic\s+v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(output);
  if (!match) {
    throw new EnvironmentError(
      `cannot read the restic version from ${JSON.stringify(output.slice(0, 200))}`,
      {
        hint: 'check that LIFEBOAT_RESTIC or PATH points at the restic binary',
      },
    );
  }
  return {
    major: Number(match[1]),
    minor: Number(match[2]),
    patch: Number(match[3] ?? 0),
    text: output.split('\n')[0]!.trim(),
  };
}

function atLeast(v: ResticVersion, major: number, minor: number, patch = 0): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

export function resticFeatures(version: ResticVersion): ResticFeatures {
  return {
    stdinFromCommand: atLeast(version, 0, 17),
    distinctExitCodes: atLeast(version, 0, 17),
    wrongPasswordExitCode: atLeast(version, 0, 17, 1),
    restoreJsonProgress: atLeast(version, 0, 16),
  };
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const INSTALL_HINT =
  'install restic (apt-get install restic) or set LIFEBOAT_RESTIC to the path of the binary';

/** The restic to run: `LIFEBOAT_RESTIC` if set, else the first `restic` on PATH. */
export async function locateRestic(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const configured = env.LIFEBOAT_RESTIC;
  if (configured) {
    const path = isAbsolute(configured) ? configured : resolve(configured);
    if (await isExecutable(path)) return path;
    throw new EnvironmentError(`LIFEBOAT_RESTIC points at ${path}, which is not an executable file`, {
      hint: INSTALL_HINT,
    });
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, 'restic');
    if (await isExecutable(path)) return path;
  }
  throw new EnvironmentError('restic is not installed (no restic on PATH)', { hint: INSTALL_HINT });
}

const cache = new Map<string, Promise<ResticBinary>>();

/** Locates restic and reads its version; the answer is cached per binary path. */
export async function findRestic(env: NodeJS.ProcessEnv = process.env): Promise<ResticBinary> {
  const path = await locateRestic(env);
  let found = cache.get(path);
  if (!found) {
    found = inspect(path);
    cache.set(path, found);
    found.catch(() => cache.delete(path));
  }
  return found;
}

async function inspect(path: string): Promise<ResticBinary> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(path, ['version'], { timeout: 30_000 }));
  } catch (cause) {
    throw new EnvironmentError(`cannot run ${path} version`, { cause, hint: INSTALL_HINT });
  }
  const version = parseResticVersion(stdout);
  return { path, version, features: resticFeatures(version) };
}
