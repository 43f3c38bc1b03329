/**
 * A standby that stays: built into a data directory the operator names, on this host,
 * started with pg_ctl and left running when Lifeboat exits (a throwaway one, for drills and
 * tests, is createStandby's). Same base backup, slot and recovery settings; its own
 * configuration is the primary's, copied by pg_basebackup, with the port and what
 * failover needs (hot_standby, wal_log_hints for a later pg_rewind) added.
 */
import { chownSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError, UsageError } from '../../errors.js';
import { freePort } from '../../system/free-port.js';
import { findPostgresBinDir } from '../../stores/postgres/sandbox.js';
import { removeDir } from '../../system/instance.js';
import { runTool } from '../../system/tool.js';
import { managedFromHost, ownerOf } from './server-host.js';
import type { ManagedServer } from './server.js';
import { query } from '../../stores/postgres/sql.js';
import { makeSynchronous, takeBaseBackup, waitForStreaming, writeStandbySettings } from './standby.js';

export interface StandbyInOptions {
  /** application_name and slot: [a-z0-9_]. */
  name: string;
  /** A new (or empty) directory; its parent must exist. */
  dataDir: string;
  /** Default: a free port. */
  port?: number;
  /** Make it the primary's synchronous standby. Default: false. */
  sync?: boolean;
  /** Default: the newest installed PostgreSQL. */
  binDir?: string;
  /** Base backup, then streaming. Default: 10 min. */
  timeoutMs?: number;
}

export interface HostStandby {
  name: string;
  url: string;
  port: number;
  dataDir: string;
  sync: boolean;
  server: ManagedServer;
  /** Files Lifeboat had to write because the primary keeps them outside its data directory. */
  wrote: string[];
}

export async function createStandbyIn(
  primary: ManagedServer,
  options: StandbyInOptions,
): Promise<HostStandby> {
  const { name, dataDir } = options;
  if (!/^[a-z0-9_]{1,63}$/.test(name))
    throw new UsageError(`standby name "${name}" must be 1 to 63 of [a-z0-9_]`, {
      hint: 'It becomes the replication slot name and application_name.',
    });
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0)
    throw new UsageError(`${dataDir} is not empty`, {
      hint: 'Name a new directory for the standby; Lifeboat never builds one over existing files.',
    });
  const [slot] = await query(primary.url, 'SELECT active FROM pg_replication_slots WHERE slot_name = $1', {
    params: [name],
  });
  if (slot?.active === true)
    throw new UsageError(`a standby named ${name} already streams from ${primary.name}`, {
      hint: 'Choose another name (--name), or remove that standby and its slot first.',
    });
  const binDir = options.binDir ?? findPostgresBinDir();
  const port = options.port ?? (await freePort());
  const created = !existsSync(dataDir);
  const owner = ownerOf(dataDir);
  const timeoutMs = options.timeoutMs ?? 600_000;
  const source = new URL(primary.url);
  const password = decodeURIComponent(source.password);
  const server = managedFromHost({
    name,
    url: standbyUrl(primary.url, port),
    dataDir,
    binDir,
    dataDirField: 'replication.standby_data_dir',
  });
  let started = false;
  try {
    await takeBaseBackup(primary, name, dataDir, (args) =>
      runTool(join(binDir, 'pg_basebackup'), args, {
        ...owner,
        env: { LC_ALL: 'C', ...(password ? { PGPASSWORD: password } : {}) },
        ...(password ? { secrets: [password] } : {}),
        timeoutMs,
      }),
    );
    const wrote = writeMissingConfig(dataDir, owner);
    writeStandbySettings(dataDir, {
      primary_conninfo: conninfo(primary.url, name),
      primary_slot_name: name,
      port: String(port),
      hot_standby: 'on',
      wal_log_hints: 'on',
    });
    await server.start();
    started = true;
    await waitForStreaming(primary, name, Math.min(timeoutMs, 60_000));
    if (options.sync) await makeSynchronous(primary, name, Math.min(timeoutMs, 60_000));
    return { name, url: server.url, port, dataDir, sync: options.sync ?? false, server, wrote };
  } catch (error) {
    if (started) await server.stop('immediate').catch(() => undefined);
    await query(primary.url, 'SELECT pg_drop_replication_slot($1)', {
      params: [name],
      timeoutMs: 5000,
    }).catch(() => undefined);
    if (created) removeDir(dataDir);
    throw error instanceof UsageError || error instanceof EnvironmentError
      ? error
      : new EnvironmentError(`building the standby ${name} failed: ${(error as Error).message}`, {
          hint: 'Nothing was left behind: the slot and the directory were removed.',
          cause: error,
        });
  }
}

/** The primary's url with the standby's port: the standby runs on this host. */
function standbyUrl(primaryUrl: string, port: number): string {
  const url = new URL(primaryUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

/** Where the walreceiver connects; libpq reads a password from here as pg_basebackup -R writes it. */
function conninfo(primaryUrl: string, name: string): string {
  const url = new URL(primaryUrl);
  const parts = [
    `host=${url.hostname}`,
    `port=${url.port || 5432}`,
    `user=${decodeURIComponent(url.username || 'postgres')}`,
    ...(url.password ? [`password=${decodeURIComponent(url.password)}`] : []),
    `application_name=${name}`,
    'connect_timeout=5',
  ];
  return parts.join(' ');
}

/**
 * A primary whose postgresql.conf and pg_hba.conf live outside its data directory (Debian's
 * /etc/postgresql) hands pg_basebackup none: the standby gets a minimal pair, and is told.
 */
function writeMissingConfig(dataDir: string, owner: { uid?: number; gid?: number }): string[] {
  const wrote: string[] = [];
  const write = (file: string, text: string) => {
    const path = join(dataDir, file);
    if (existsSync(path)) return;
    writeFileSync(path, text, { mode: 0o600 });
    if (owner.uid !== undefined) chownSync(path, owner.uid, owner.gid ?? owner.uid);
    wrote.push(path);
  };
  write('postgresql.conf', '# Written by lifeboat standby create: the primary keeps its own elsewhere.\n');
  write(
    'pg_hba.conf',
    [
      'local all all peer',
      'host all all 127.0.0.1/32 scram-sha-256',
      'host all all ::1/128 scram-sha-256',
      '',
    ].join('\n'),
  );
  return wrote;
}
