/**
 * Files pgBackRest and the PostgreSQL server read or write must belong to the server's OS
 * user, and every parent directory must let it through: Lifeboat (often root) creates them,
 * hands them over, and checks the user can reach them before a command fails halfway.
 */
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EnvironmentError } from '../../errors.js';
import type { OsUser } from '../../system/instance.js';
import { runTool } from '../../system/tool.js';

/** The user that owns `path`, named from /etc/passwd (its uid when unnamed). */
export function userOwning(path: string): OsUser {
  const stat = statSync(path);
  let name = String(stat.uid);
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [user, , uid] = line.split(':');
      if (user && uid === String(stat.uid)) {
        name = user;
        break;
      }
    }
  } catch {
    // Keep the number: only messages use the name.
  }
  return { name, uid: stat.uid, gid: stat.gid };
}

/**
 * mkdir -p, then gives `user` every directory it created, and `path` itself when it existed
 * already unless `takeExisting` is false (a parent such as /srv must keep its owner).
 */
export function ensureOwnedDir(
  path: string,
  user: OsUser | undefined,
  options: { mode?: number; takeExisting?: boolean } = {},
): void {
  const first = mkdirSync(path, { recursive: true, mode: options.mode ?? 0o750 });
  if (!user) return;
  const created: string[] = [];
  if (first !== undefined) {
    for (let dir = path; dir.length >= first.length; dir = dirname(dir)) {
      created.push(dir);
      if (dir === first) break;
    }
  } else if (options.takeExisting !== false) created.push(path);
  for (const dir of created) {
    const stat = statSync(dir);
    if (stat.uid !== user.uid || stat.gid !== user.gid) chownSync(dir, user.uid, user.gid);
  }
}

/** Writes `text` readable by its owner only (it may hold S3 keys), owned by `user`. */
export function writeOwnedFile(path: string, text: string, user: OsUser | undefined): void {
  writeFileSync(path, text, { mode: 0o600 });
  if (user) chownSync(path, user.uid, user.gid);
}

/**
 * Checks, as `user`, that each path can be read or written. A config under /root (mode 700)
 * is the usual trap: root wrote it, the postgres user cannot even reach it.
 */
export async function checkReachable(
  user: OsUser | undefined,
  paths: { path: string; access: 'read' | 'write' }[],
): Promise<void> {
  if (!user) return;
  for (const { path, access } of paths) {
    const test = await runTool('test', [access === 'read' ? '-r' : '-w', path], {
      uid: user.uid,
      gid: user.gid,
      cwd: '/',
    });
    if (test.code !== 0) {
      throw new EnvironmentError(`the ${user.name} user cannot ${access} ${path}`, {
        hint: `pgBackRest runs as ${user.name}, the owner of the data directory: every parent directory of ${path} must be reachable by it (chmod o+x), or move Lifeboat's home with LIFEBOAT_HOME`,
        details: { path, user: user.name, access },
      });
    }
  }
}
