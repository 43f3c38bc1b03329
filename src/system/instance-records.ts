/**
 * A record on disk for every running throwaway server, so that one whose owner died without
 * cleaning up (SIGKILL, a crash, a power cut of the parent only) is found and stopped by the
 * next Lifeboat command, instead of running forever with restored data in it.
 *
 * One JSON file per instance (0600) in a private directory: `<home>/instances` when a plan's
 * Lifeboat home is known, else this user's runtime directory. Reaping reads both.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { readdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ensurePrivateDir, runtimeDir } from './private-dir.js';
import { livePostmasterPid, processAlive, processStartTime, sameProcessRuns } from './process.js';

export interface InstanceRecord {
  /** `postgres`, `mariadb`, `redis`, `pgbouncer`. */
  kind: string;
  /** The Lifeboat process that started the server, and its start time (against pid reuse). */
  ownerPid: number;
  ownerStart: number | undefined;
  /** The server's pid once known. */
  serverPid: number | undefined;
  serverStart: number | undefined;
  /**
   * A data dir whose postmaster.pid names the server: found even when the owner died between
   * starting it and recording its pid. Default: none.
   */
  postmasterDir?: string;
  /** SIGQUIT for PostgreSQL (its immediate shutdown); others need no clean stop. */
  stopSignal: NodeJS.Signals;
  port: number | undefined;
  /** Removed with everything in it when the instance is reaped. */
  tempDir: string;
  dataDir: string;
  startedAt: string;
}

export interface RecordHandle {
  readonly file: string;
  /** Adds what became known after start-up (the server's pid, its port). */
  update(fields: Partial<Pick<InstanceRecord, 'serverPid' | 'port'>>): void;
  remove(): void;
}

let home: string | undefined;

/** Records go beside the plan's state from now on (`<homeDir>/instances`). */
export function useInstanceRecordsHome(homeDir: string): void {
  home = homeDir;
}

function recordDirs(): string[] {
  const dirs = home === undefined ? [] : [join(home, 'instances')];
  dirs.push(runtimeDir());
  return dirs;
}

/** Records a server about to start; the handle updates and removes the record. */
export function recordInstance(
  fields: Pick<InstanceRecord, 'kind' | 'tempDir' | 'dataDir' | 'stopSignal'> &
    Partial<Pick<InstanceRecord, 'postmasterDir'>>,
): RecordHandle {
  const dir = ensurePrivateDir(recordDirs()[0]!);
  const file = join(dir, `${fields.kind}-${process.pid}-${randomBytes(4).toString('hex')}.json`);
  let record: InstanceRecord = {
    ownerPid: process.pid,
    ownerStart: processStartTime(process.pid),
    serverPid: undefined,
    serverStart: undefined,
    port: undefined,
    startedAt: new Date().toISOString(),
    ...fields,
  };
  const write = () => {
    // Written whole then renamed: a reader never sees half a record.
    const partial = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    const text = JSON.stringify(record, null, 2) + '\n';
    try {
      writeFileSync(partial, text, { mode: 0o600, flag: 'wx' });
    } catch {
      // Another process removed the directory as it emptied: make it again, once.
      ensurePrivateDir(dir);
      writeFileSync(partial, text, { mode: 0o600, flag: 'wx' });
    }
    renameSync(partial, file);
  };
  write();
  return {
    file,
    update(update) {
      record = {
        ...record,
        ...update,
        ...(update.serverPid === undefined ? {} : { serverStart: processStartTime(update.serverPid) }),
      };
      write();
    },
    remove() {
      rmSync(file, { force: true });
      removeIfEmpty(dir);
    },
  };
}

export interface LeftoverInstance {
  file: string;
  record: InstanceRecord;
  /** The server's pid when it still runs. */
  runningPid: number | undefined;
}

/** Records whose owner is gone: their servers (if still running) nobody will stop. */
export function findLeftoverInstances(): LeftoverInstance[] {
  const found: LeftoverInstance[] = [];
  for (const dir of recordDirs()) {
    let names: string[];
    try {
      ensurePrivateDir(dir);
      names = readdirSync(dir).filter((name) => name.endsWith('.json'));
    } catch {
      continue;
    }
    for (const name of names) {
      const file = join(dir, name);
      const record = readRecord(file);
      if (!record || sameProcessRuns(record.ownerPid, record.ownerStart)) continue;
      found.push({ file, record, runningPid: serverPidOf(record) });
    }
  }
  return found;
}

/** Every record whose owner still runs: instances in use right now. */
export function liveInstances(): InstanceRecord[] {
  const live: InstanceRecord[] = [];
  for (const dir of recordDirs()) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((name) => name.endsWith('.json'));
    } catch {
      continue;
    }
    for (const name of names) {
      const record = readRecord(join(dir, name));
      if (record && sameProcessRuns(record.ownerPid, record.ownerStart)) live.push(record);
    }
  }
  return live;
}

export interface ReapedInstance {
  kind: string;
  ownerPid: number;
  /** The server that was stopped, or undefined when it had already stopped. */
  serverPid: number | undefined;
  port: number | undefined;
  tempDir: string;
  /** It would not die (another user's process): still running, its record kept. */
  stillRunning: boolean;
}

/**
 * Stops the servers of dead owners, removes their temp dirs (with the data in them) and their
 * records. Returns what was reaped, for the caller to report.
 */
export async function reapLeftoverInstances(): Promise<ReapedInstance[]> {
  const reaped: ReapedInstance[] = [];
  for (const leftover of findLeftoverInstances()) {
    const { record, runningPid } = leftover;
    if (runningPid !== undefined) await stopProcess(runningPid, record.stopSignal);
    const stillRunning = runningPid !== undefined && processAlive(runningPid);
    if (!stillRunning) {
      // A record is ours (private dir), but a path in it is still checked before rm -r.
      if (basename(record.tempDir).startsWith('lifeboat-'))
        rmSync(record.tempDir, { recursive: true, force: true, maxRetries: 3 });
      rmSync(leftover.file, { force: true });
      removeIfEmpty(dirname(leftover.file));
    }
    reaped.push({
      kind: record.kind,
      ownerPid: record.ownerPid,
      serverPid: runningPid,
      port: record.port,
      tempDir: record.tempDir,
      stillRunning,
    });
  }
  return reaped;
}

/** An empty records directory goes, so that nothing stays behind once every server has stopped. */
function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Not empty (another server runs), or gone already.
  }
}

function readRecord(file: string): InstanceRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as InstanceRecord;
    return typeof record.ownerPid === 'number' && typeof record.tempDir === 'string' ? record : undefined;
  } catch {
    return undefined;
  }
}

function serverPidOf(record: InstanceRecord): number | undefined {
  // Without its start time a pid may name anything by now: never signal on the pid alone.
  if (
    record.serverPid !== undefined &&
    record.serverStart !== undefined &&
    sameProcessRuns(record.serverPid, record.serverStart)
  )
    return record.serverPid;
  return record.postmasterDir === undefined ? undefined : livePostmasterPid(record.postmasterDir);
}

/** `signal`, up to 10 s to exit, then SIGKILL. */
async function stopProcess(pid: number, signal: NodeJS.Signals): Promise<void> {
  const send = (s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
    } catch {
      // Already gone.
    }
  };
  send(signal);
  for (let i = 0; i < 200 && processAlive(pid); i++) await sleep(50);
  if (!processAlive(pid)) return;
  send('SIGKILL');
  for (let i = 0; i < 100 && processAlive(pid); i++) await sleep(50);
}

/** One line for a reaped instance: what it was, whose, what was done. */
export function describeReaped(instance: ReapedInstance): string {
  const where = instance.port === undefined ? '' : ` on port ${instance.port}`;
  const what = `a throwaway ${instance.kind}${where} left by Lifeboat process ${instance.ownerPid}, which is gone`;
  if (instance.stillRunning)
    return `found ${what}: its server (pid ${instance.serverPid}) did not stop; kill it and remove ${instance.tempDir}`;
  const server =
    instance.serverPid === undefined
      ? 'its server had already stopped'
      : `stopped its server (pid ${instance.serverPid})`;
  return `reaped ${what}: ${server} and removed ${instance.tempDir} with its data`;
}
