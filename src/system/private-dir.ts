/**
 * Directories only this OS user may enter: where throwaway servers keep their data and
 * sockets, and where their records live. A directory another user owns or may write into
 * could hand us a record (a pid to kill, a directory to remove) or read restored data.
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EnvironmentError } from '../errors.js';

/** Creates `dir` (0700) if missing; refuses one owned by another user or open to writes by others. */
export function ensurePrivateDir(dir: string): string {
  // Only the directory itself is private: parents made on the way keep the usual modes (a
  // plan's `.lifeboat` must stay reachable by the postgres user, for pgBackRest).
  mkdirSync(dirname(dir), { recursive: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  const uid = process.getuid?.();
  if (!stat.isDirectory())
    throw new EnvironmentError(`${dir} is not a directory (a symbolic link?)`, {
      hint: `Remove it; Lifeboat creates it as a private directory (mode 0700).`,
    });
  if (uid !== undefined && stat.uid !== uid)
    throw new EnvironmentError(`${dir} belongs to another user (uid ${stat.uid})`, {
      hint: `Remove it, or set XDG_RUNTIME_DIR to a directory of your own; Lifeboat keeps its throwaway servers' records only in a directory that is yours.`,
    });
  if ((stat.mode & 0o022) !== 0)
    throw new EnvironmentError(
      `${dir} is writable by other users (mode ${(stat.mode & 0o777).toString(8)})`,
      {
        hint: `Check what else is in it, then: chmod 700 ${dir}`,
      },
    );
  if ((stat.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}

/**
 * This user's runtime directory for Lifeboat: `$XDG_RUNTIME_DIR/lifeboat` when that is set
 * (systemd makes it private), else `<tmpdir>/lifeboat-<uid>`.
 */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg) return join(xdg, 'lifeboat');
  return join(tmpdir(), `lifeboat-${process.getuid?.() ?? 'user'}`);
}
