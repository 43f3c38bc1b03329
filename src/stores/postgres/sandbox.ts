/**
 * A throwaway PostgreSQL server in a temp dir on a free loopback port: for verifying a
 * restore, for tests, and (with `dataDir`) for starting a restored or standby data
 * directory. PostgreSQL refuses to run as root, so when Lifeboat is root the server runs
 * as the `postgres` OS user and the temp dir belongs to it. The server is this process's
 * child and ends with it, even when it is SIGKILLed (postmaster.ts).
 *
 * Other local users must not get in: it holds restored data and its superuser can run
 * programs (COPY ... TO PROGRAM) as the server's OS user. The socket is in the temp dir
 * (0700), the only place `trust` applies; TCP needs the superuser's password, random per
 * instance, which only the instance's url carries.
 */
import { chownSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError } from '../../errors.js';
import { parsePgUrl, psqlRows, psqlScript, type Row } from './psql.js';
import { firstLines, runTool, type RunResult } from '../../system/tool.js';
import { freePort } from '../../system/free-port.js';
import {
  makeTempDir,
  newInstancePassword,
  once,
  osUser,
  recordInstance,
  registerInstance,
  removeDir,
  runningAsRoot,
  signalProcess,
  type Instance,
  type OsUser,
  type RecordHandle,
} from '../../system/instance.js';
import { livePostmasterPid } from '../../system/process.js';
import { startPostmaster } from './postmaster.js';
import { pauseAt } from '../../system/test-pause.js';

export interface StartPostgresOptions {
  /** TCP port on 127.0.0.1. Default: a free port. */
  port?: number;
  /**
   * Settings added after the data dir's own postgresql.conf (e.g. `{ wal_level: 'replica' }`,
   * recovery targets for PITR). Default: none.
   */
  extraConf?: Record<string, string | number | boolean>;
  /**
   * Start this existing data directory (a restored base backup, a standby) instead of a
   * fresh `initdb`. It must belong to the server user; stop() leaves it in place. Default: a
   * new cluster inside the temp dir, removed by stop().
   */
  dataDir?: string;
  /**
   * The password of the `postgres` role in `dataDir`, when it is a copy or a standby of another
   * throwaway server (that server's url has it). Default: a fresh cluster gets a random one;
   * an existing data dir keeps its roles, and a url without a password reaches it only if
   * its own roles allow.
   */
  password?: string;
  /** Trade durability for speed: fsync, synchronous_commit and full_page_writes off. Default: false. */
  fast?: boolean;
  /** Where initdb, pg_ctl and postgres are. Default: the newest /usr/lib/postgresql/N/bin, else PATH. */
  binDir?: string;
  /** How long to wait for the server to accept connections. Default: 60 s. */
  startTimeoutSeconds?: number;
  /**
   * Let the server outlive this process when it is killed (a normal exit still stops it,
   * and a killed owner's server is reaped by the next Lifeboat command). No caller needs it
   * today: a server meant to outlive a command is owned by a process of its own (the demo's).
   * Default: false, the kernel stops the server at once when this process dies.
   */
  outlivesOwner?: boolean;
}

export interface PostgresInstance extends Instance {
  /**
   * `postgres://postgres:PASSWORD@127.0.0.1:PORT/postgres`: a secret. Print it through
   * `redactUrl`; tools get the password from PGPASSWORD (`parsePgUrl`), never as an argument.
   */
  readonly url: string;
  readonly binDir: string;
  /** The temp dir holding the socket, the configuration, the log and (by default) the data dir. */
  readonly tempDir: string;
  /** Unix socket directory (the temp dir, 0700): `trust` for whoever can enter it. */
  readonly socketDir: string;
  readonly logFile: string;
  /** The url of another database on this server. */
  urlFor(database: string): string;
  /** Runs one statement (in `database`, default `postgres`) and returns its rows, NULL as null. */
  psql(sql: string, database?: string): Promise<Row[]>;
  /** Runs a script of several statements, stopping at the first error. */
  psqlScript(sql: string, database?: string): Promise<void>;
  /** Runs pg_ctl as the server user with `-D dataDir` (e.g. `['promote', '-w']`). */
  pgCtl(args: string[]): Promise<RunResult>;
}

/** Connections a throwaway instance needs (a parallel restore, a test): fewer saves memory. */
const baseConf: Record<string, string | number | boolean> = {
  max_connections: 40,
  shared_buffers: '32MB',
  // A restored production data dir must never push WAL into production's archive.
  archive_mode: 'off',
  logging_collector: 'off',
  log_min_messages: 'warning',
  dynamic_shared_memory_type: 'posix',
};

const fastConf = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresInstance> {
  const binDir = options.binDir ?? findPostgresBinDir();
  const owner = runningAsRoot() ? osUser('postgres') : undefined;
  const tempDir = makeTempDir('pg', owner);
  const dataDir = options.dataDir ?? join(tempDir, 'data');
  const password = options.password ?? (options.dataDir === undefined ? newInstancePassword() : undefined);
  // Recorded before anything starts: a SIGKILLed owner leaves no server the next command misses.
  let record: RecordHandle | undefined;
  const run = (tool: string, args: string[]): Promise<RunResult> =>
    runTool(join(binDir, tool), args, {
      uid: owner?.uid,
      gid: owner?.gid,
      cwd: tempDir,
      env: serverEnv(tempDir),
    });

  try {
    record = recordInstance({
      kind: 'postgres',
      tempDir,
      dataDir,
      stopSignal: 'SIGQUIT',
      postmasterDir: dataDir,
    });
    if (options.dataDir === undefined) await initCluster(run, tempDir, dataDir, owner, password!);
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort());
      writeConfig(tempDir, dataDir, port, options);
      const logFile = join(tempDir, 'postgres.log');
      const started = await startPostmaster({
        binDir,
        dataDir,
        args: serverArgs(tempDir, port),
        logFile,
        owner,
        cwd: tempDir,
        env: serverEnv(tempDir),
        timeoutMs: (options.startTimeoutSeconds ?? 60) * 1000,
        bound: options.outlivesOwner !== true,
      });
      if ('pid' in started) {
        record.update({ port, serverPid: started.pid });
        const ready = instance({
          binDir,
          tempDir,
          dataDir,
          port,
          owner,
          ownsDataDir: options.dataDir === undefined,
          run,
          logFile,
          password,
          record,
        });
        await pauseAt('postgres-started');
        return ready;
      }
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      if (options.port === undefined && attempt < 3 && /could not bind|already in use/i.test(log)) continue;
      throw new EnvironmentError(`PostgreSQL did not start (${started.failure}): ${lastLines(log)}`, {
        hint: `Its log was ${logFile} (removed with the temp dir).`,
      });
    }
  } catch (error) {
    await run('pg_ctl', ['-D', dataDir, '-m', 'immediate', 'stop']).catch(() => undefined);
    removeDir(tempDir);
    record?.remove();
    throw error;
  }
}

/**
 * initdb with a superuser password from a file in the private temp dir (never an argument,
 * which `ps` shows), removed once read.
 */
async function initCluster(
  run: (tool: string, args: string[]) => Promise<RunResult>,
  tempDir: string,
  dataDir: string,
  owner: OsUser | undefined,
  password: string,
): Promise<void> {
  const pwfile = join(tempDir, 'initdb.pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) chownSync(pwfile, owner.uid, owner.gid);
  try {
    const init = await run('initdb', [
      '-D',
      dataDir,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      `--pwfile=${pwfile}`,
      '-U',
      'postgres',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    if (init.code !== 0) throw new EnvironmentError(`initdb failed: ${firstLines(init.stderr)}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
}

interface Parts {
  binDir: string;
  tempDir: string;
  dataDir: string;
  port: number;
  owner: OsUser | undefined;
  ownsDataDir: boolean;
  logFile: string;
  password: string | undefined;
  record: RecordHandle;
  run(tool: string, args: string[]): Promise<RunResult>;
}

function instance(parts: Parts): PostgresInstance {
  const { binDir, tempDir, dataDir, port, run } = parts;
  const auth = parts.password === undefined ? '' : `:${encodeURIComponent(parts.password)}`;
  const urlFor = (database: string): string =>
    `postgres://postgres${auth}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  const stop = once(async () => {
    try {
      await run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    } finally {
      removeDir(tempDir);
      unregister();
    }
  });
  const unregister = registerInstance(
    {
      stop,
      killSync: () => {
        // Only a postmaster still running this data dir: a stale pid file may name a reused pid.
        const pid = livePostmasterPid(dataDir);
        // SIGQUIT is PostgreSQL's immediate shutdown: the postmaster takes its children with it.
        if (pid !== undefined) signalProcess(pid, 'SIGQUIT');
        removeDir(tempDir);
      },
    },
    parts.record,
  );
  return {
    url: urlFor('postgres'),
    port,
    dataDir,
    binDir,
    tempDir,
    socketDir: tempDir,
    logFile: parts.logFile,
    urlFor,
    psql: (sql, database = 'postgres') => psqlRows(parsePgUrl(urlFor(database)), sql),
    psqlScript: (sql, database = 'postgres') => psqlScript(parsePgUrl(urlFor(database)), sql),
    pgCtl: (args) => run('pg_ctl', ['-D', dataDir, ...args]),
    stop,
  };
}

/**
 * Our own postgresql.conf in the temp dir: it includes the data dir's (a restored cluster
 * keeps its settings), then overrides what must hold for a throwaway server: loopback only,
 * our port and private socket, our own pg_hba.conf, no archiving.
 */
function writeConfig(tempDir: string, dataDir: string, port: number, options: StartPostgresOptions): void {
  const settings: Record<string, string | number | boolean> = {
    data_directory: dataDir,
    hba_file: join(tempDir, 'pg_hba.conf'),
    ident_file: join(tempDir, 'pg_ident.conf'),
    port,
    listen_addresses: '127.0.0.1',
    unix_socket_directories: tempDir,
    unix_socket_permissions: '0700',
    password_encryption: 'scram-sha-256',
    ...baseConf,
    ...(options.fast ? fastConf : {}),
    ...options.extraConf,
  };
  const lines = [`include_if_exists = ${quoteConf(join(dataDir, 'postgresql.conf'))}`];
  for (const [key, value] of Object.entries(settings)) lines.push(`${key} = ${quoteConf(value)}`);
  writeFileSync(join(tempDir, 'postgresql.conf'), `${lines.join('\n')}\n`);
  writeFileSync(
    join(tempDir, 'pg_hba.conf'),
    [
      // Only who can enter the 0700 socket dir: the server's OS user and root.
      'local all all trust',
      'local replication all trust',
      // Any local user can open a loopback port: the password is what keeps them out.
      'host all all 127.0.0.1/32 scram-sha-256',
      'host replication all 127.0.0.1/32 scram-sha-256',
      '',
    ].join('\n'),
  );
  writeFileSync(join(tempDir, 'pg_ident.conf'), '');
}

/**
 * Also on the command line, because those beat postgresql.auto.conf: a restored cluster's
 * ALTER SYSTEM settings must not move it onto a shared port or into production's archive.
 */
function serverArgs(tempDir: string, port: number): string[] {
  // prettier-ignore
  return [
    '-c', `config_file=${join(tempDir, 'postgresql.conf')}`,
    '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1',
    '-c', `unix_socket_directories=${tempDir}`,
    '-c', 'archive_mode=off',
  ];
}

/** The server and its tools keep nothing in the caller's home, and speak one locale. */
function serverEnv(tempDir: string): Record<string, string> {
  return { HOME: tempDir, LC_ALL: 'C' };
}

function quoteConf(value: string | number | boolean): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function lastLines(text: string, count = 3): string {
  return text.trim().split('\n').slice(-count).join(' / ');
}

/** The newest PostgreSQL server bin dir: Debian keeps initdb and pg_ctl off PATH. */
export function findPostgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  throw new EnvironmentError('the PostgreSQL server binaries (initdb, pg_ctl) are not installed', {
    hint: 'Install them: apt-get install postgresql',
  });
}
