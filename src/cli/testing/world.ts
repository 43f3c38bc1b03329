/**
 * What a command could change, read so that a test compares it before and after a dry run:
 * files under a directory (with sizes and mtimes), the state store's row counts, a restic
 * repository's snapshots, pgBackRest's backup sets, and the processes started from a
 * directory. For tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Every file and directory under `root`: files with size and mtime, directories by name (their
 * mtime moves when a lock file comes and goes, which changes nothing). SQLite's `-shm` index
 * and an empty `-wal` are left out: they come and go with connections, readers' included,
 * and hold no data (a write shows in the row counts and in the database file's mtime).
 */
export function fileListing(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      const key = relative(root, path);
      if (stat.isDirectory()) {
        out[key + '/'] = `dir ${(stat.mode & 0o7777).toString(8)}`;
        walk(path);
      } else if (!name.endsWith('-shm') && !(name.endsWith('-wal') && stat.size === 0))
        out[key] = `${stat.size} bytes, mtime ${stat.mtimeMs}, mode ${(stat.mode & 0o7777).toString(8)}`;
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}

/** Rows in each table of a SQLite state store, read through a read-only connection. */
export function stateRowCounts(dbPath: string): Record<string, number> {
  const sqlite = (sql: string) =>
    execFileSync('sqlite3', ['-readonly', dbPath, sql], { encoding: 'utf8' }).trim().split('\n');
  const tables = sqlite("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").filter(Boolean);
  return Object.fromEntries(tables.map((t) => [t, Number(sqlite(`SELECT count(*) FROM "${t}"`)[0])]));
}

/** The ids of a restic repository's snapshots, sorted. */
export function resticSnapshotIds(repository: string, passwordFile: string): string[] {
  const json = execFileSync('restic', ['snapshots', '--json', '--no-lock'], {
    encoding: 'utf8',
    env: { ...process.env, RESTIC_REPOSITORY: repository, RESTIC_PASSWORD_FILE: passwordFile },
  });
  return (JSON.parse(json) as { id: string }[]).map((s) => s.id).sort();
}

/** The command lines of the running processes that mention `text` (a work directory). */
export function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    } catch {
      continue; // it ended while we looked
    }
    if (cmdline.includes(text)) found.push(cmdline);
  }
  return found.sort();
}
