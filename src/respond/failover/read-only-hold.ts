/**
 * The mark that keeps a fenced old primary from coming back writable: `standby.signal` and a
 * note in its data directory, written once it is stopped and another server is promoted.
 */
import { chownSync, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The note beside standby.signal that says why the old primary starts read-only. */
export const FENCED_NOTE = 'LIFEBOAT_FENCED';

/**
 * Makes the stopped old primary start read-only if anything starts it again (a reboot, a
 * service manager, a person): a `standby.signal` in its data directory puts it in recovery,
 * where it takes no write whatever a client's `synchronous_commit` says, and with no
 * `primary_conninfo` it follows nobody. A note beside it says why and what to do. Only where
 * Lifeboat runs on its host (the data directory is known and here); returns false otherwise.
 */
export function holdReadOnly(dir: string, why: string): boolean {
  if (dir === '' || !existsSync(join(dir, 'PG_VERSION'))) return false;
  const { uid, gid } = statSync(dir);
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text, { mode: 0o600 });
    // As its owner: PostgreSQL (and pg_rewind) must be able to remove them.
    chownSync(file, uid, gid);
  };
  write('standby.signal', '');
  write(
    FENCED_NOTE,
    `${new Date().toISOString()} ${why}\n` +
      'standby.signal was written beside this note so that this server starts read-only.\n' +
      'Bring it back as a standby of the new primary (pg_rewind, or a new base backup with lifeboat standby create);\n' +
      'remove standby.signal and this note only if this server must be the primary again and no other one is.\n',
  );
  return true;
}

/**
 * Removes the mark `holdReadOnly` left: single-user recovery refuses a data directory in
 * standby mode, and a server rejoined as a standby is no longer fenced. `keepSignal` for the
 * rejoin, whose standby.signal is its own.
 */
export function releaseReadOnlyHold(dataDir: string, options: { keepSignal?: boolean } = {}): void {
  if (!existsSync(join(dataDir, FENCED_NOTE))) return;
  if (!options.keepSignal) rmSync(join(dataDir, 'standby.signal'), { force: true });
  rmSync(join(dataDir, FENCED_NOTE), { force: true });
}
