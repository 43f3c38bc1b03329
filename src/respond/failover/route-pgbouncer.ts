/**
 * Routing through pgbouncer: clients connect to pgbouncer, whose `[databases]` entry says
 * which server they reach. Switching rewrites that entry and RELOADs it through the admin
 * console; fencing KILLs the database there, which drops every client and server
 * connection at once and holds new clients until RESUME, so none of them reaches the old
 * primary while the standby is promoted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError, UsageError } from '../../errors.js';
import { freePort } from '../../system/free-port.js';
import {
  killAndWait,
  makeTempDir,
  recordInstance,
  once,
  osUser,
  registerInstance,
  removeDir,
  runningAsRoot,
  waitUntil,
  type Instance,
  type RecordHandle,
} from '../../system/instance.js';
import { parseCsv, type Row } from '../../stores/postgres/psql.js';
import { firstLines, runTool } from '../../system/tool.js';
import type { Router, RouterStatus, RouteTarget } from './route.js';

export interface PgbouncerRouterOptions {
  /** pgbouncer's admin console, e.g. `127.0.0.1:6432`; the user must be in `admin_users`. */
  adminHost: string;
  adminPort: number;
  /** Default: postgres. */
  adminUser?: string;
  /** The admin user's password, when pgbouncer asks for one. Default: none. */
  adminPassword?: string;
  /** The pgbouncer.ini Lifeboat rewrites: pgbouncer must be able to reread it on RELOAD. */
  iniPath: string;
  /** The `[databases]` entry clients use. */
  database: string;
  /** The database name on the server. Default: the same as `database`. */
  serverDatabase?: string;
}

export interface PgbouncerRouter extends Router {
  /**
   * Runs admin console commands in order (`SHOW POOLS`, `RELOAD`...); returns the last one's
   * rows, its column names first with `header`.
   */
  admin(commands: string[], timeoutMs?: number, options?: { header?: boolean }): Promise<Row[]>;
}

/** A Router over an existing pgbouncer whose ini file Lifeboat may rewrite. */
export function pgbouncerRouter(options: PgbouncerRouterOptions): PgbouncerRouter {
  const user = options.adminUser ?? 'postgres';
  const db = options.database;
  if (!/^[A-Za-z0-9_]+$/.test(db))
    throw new UsageError(`pgbouncer database name "${db}" must be [A-Za-z0-9_]`, {
      hint: 'It is sent to the admin console as an identifier (KILL, RESUME).',
    });
  // Whether clients are held by KILL or PAUSE, so switchTo knows to RESUME them.
  let held = false;
  const admin = async (
    commands: string[],
    timeoutMs = 10_000,
    { header = false }: { header?: boolean } = {},
  ): Promise<Row[]> => {
    const args = [
      '-X',
      '-q',
      '--csv',
      ...(header ? [] : ['-t']),
      '-h',
      options.adminHost,
      '-p',
      String(options.adminPort),
      '-U',
      user,
      '-d',
      'pgbouncer',
    ];
    for (const command of commands) args.push('-c', command);
    const password = options.adminPassword;
    const result = await runTool('psql', args, {
      env: { PGCONNECT_TIMEOUT: '3', ...(password ? { PGPASSWORD: password } : {}) },
      secrets: password ? [password] : [],
      timeoutMs,
    });
    if (result.code !== 0) {
      const why = result.signal ? `no answer within ${timeoutMs} ms` : firstLines(result.stderr);
      throw new EnvironmentError(
        `pgbouncer at ${options.adminHost}:${options.adminPort} failed ${commands.join('; ')}: ${why}`,
        {
          hint: `Check that pgbouncer runs and that ${user} is in its admin_users.`,
          details: { router: 'pgbouncer', host: options.adminHost, port: options.adminPort },
        },
      );
    }
    return parseCsv(result.stdout);
  };
  /**
   * Whether PAUSE fences as well as KILL: no server connection of the database in use (SHOW
   * POOLS' sv_active, read by its header), and no session pooling, whose clients keep session
   * state (SET, prepared statements) that must not move silently to another server.
   */
  const pauseFences = async (): Promise<boolean> => {
    const [header, ...rows] = await admin(['SHOW POOLS'], 5000, { header: true });
    const active = header?.indexOf('sv_active') ?? -1;
    const mode = header?.indexOf('pool_mode') ?? -1;
    const pools = rows.filter((r) => r[0] === db);
    return (
      active >= 0 &&
      mode >= 0 &&
      pools.length > 0 &&
      pools.every((r) => r[active] === '0' && r[mode] !== 'session')
    );
  };
  const block = async () => {
    // pgbouncer (1.18 here, still reported upstream for 1.24) now and then dies of SIGSEGV
    // right after KILL, leaving every client with no endpoint at all. When no server
    // connection is in use, as after a crash (its connections broke with it), PAUSE holds
    // clients just as well and returns at once; KILL only cuts off what is still on a server
    // (a frozen or cut-off primary holding a transaction open) and session-pooled clients.
    if (await pauseFences().catch(() => false)) {
      try {
        await admin([`PAUSE ${db}`], 2000);
        held = true;
        return;
      } catch {
        // A session took a server connection meanwhile: cut it off.
      }
    }
    await admin([`KILL ${db}`]);
    held = true;
  };
  return {
    kind: 'pgbouncer',
    name: `pgbouncer ${options.adminHost}:${options.adminPort}`,
    canBlock: true,
    admin,
    check: async (): Promise<RouterStatus> => {
      try {
        // SHOW DATABASES: name, host, port, database, ...
        const rows = await admin(['SHOW DATABASES'], 5000);
        const row = rows.find((r) => r[0] === db);
        if (!row) return { reachable: false, error: `pgbouncer has no [databases] entry "${db}"` };
        return { reachable: true, target: `${row[1]}:${row[2]}` };
      } catch (error) {
        return { reachable: false, error: (error as Error).message };
      }
    },
    block,
    pause: async (timeoutMs) => {
      try {
        // PAUSE returns once running transactions are done and server connections closed.
        await admin([`PAUSE ${db}`], timeoutMs);
        held = true;
      } catch {
        // A session that never ends (session pooling, a stuck query): cut it off instead.
        await block();
      }
    },
    switchTo: async (target: RouteTarget) => {
      rewriteDatabase(options.iniPath, db, target, options.serverDatabase ?? db);
      // RELOAD closes server connections to the old destination when they are released;
      // RESUME lets held clients through, RECONNECT moves connections that were never held.
      await admin(['RELOAD', held ? `RESUME ${db}` : `RECONNECT ${db}`]);
      held = false;
    },
  };
}

/** Rewrites the `[databases]` line of `database` to point at `target`. */
export function rewriteDatabase(
  iniPath: string,
  database: string,
  target: RouteTarget,
  serverDb: string,
): void {
  const ini = readFileSync(iniPath, 'utf8');
  const line = `${database} = ${databaseConnstr(target, serverDb)}`;
  const pattern = new RegExp(`^\\s*${database}\\s*=.*$`, 'm');
  if (!pattern.test(ini))
    throw new UsageError(`${iniPath} has no [databases] entry "${database}"`, {
      hint: `Add a line "${line}" under [databases].`,
    });
  writeFileSync(iniPath, ini.replace(pattern, line));
}

function databaseConnstr(target: RouteTarget, serverDb: string): string {
  return `host=${target.host} port=${target.port} dbname=${serverDb}`;
}

export interface StartPgbouncerOptions {
  /** The `[databases]` entry clients use. */
  database: string;
  /** The server database. Default: the same name. */
  serverDatabase?: string;
  /** Where clients go first (the primary). */
  target: RouteTarget;
  /** Default: transaction (PAUSE then waits for transactions, not for sessions to end). */
  poolMode?: 'session' | 'transaction';
  /** Default: a free loopback port. */
  port?: number;
  /**
   * The password of `postgres` on the servers it routes to: pgbouncer logs in with it, and
   * asks it of its own clients, since any local user can open its port.
   */
  password: string;
  /**
   * Lines appended to the `[pgbouncer]` section, e.g. `server_login_retry = 15` to measure
   * pgbouncer at its stock setting: pgbouncer keeps the last value it reads for a key, so
   * these override the settings above. Default: none.
   */
  extraIni?: string[];
}

export interface PgbouncerInstance extends Instance, PgbouncerRouter {
  /** `postgres://postgres:PASSWORD@127.0.0.1:PORT/DATABASE`, how clients connect: a secret. */
  readonly url: string;
  readonly iniPath: string;
  readonly logFile: string;
}

/** A throwaway pgbouncer on a free loopback port, password authentication, admin console for `postgres`. */
export async function startPgbouncer(options: StartPgbouncerOptions): Promise<PgbouncerInstance> {
  // pgbouncer refuses to run as root.
  const owner = runningAsRoot() ? osUser('postgres') : undefined;
  const dir = makeTempDir('pgbouncer', owner);
  const iniPath = join(dir, 'pgbouncer.ini');
  const logFile = join(dir, 'pgbouncer.log');
  // A plain-text password: pgbouncer checks its clients with it and logs in to the server with it.
  writeFileSync(join(dir, 'userlist.txt'), `"postgres" "${options.password.replace(/"/g, '""')}"\n`, {
    mode: 0o600,
  });
  if (owner) chownSync(join(dir, 'userlist.txt'), owner.uid, owner.gid);
  const record = recordInstance({ kind: 'pgbouncer', tempDir: dir, dataDir: dir, stopSignal: 'SIGKILL' });
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    writeFileSync(iniPath, iniText(options, dir, port, logFile));
    const child = spawn('pgbouncer', [iniPath], {
      uid: owner?.uid,
      gid: owner?.gid,
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    let spawnError: Error | undefined;
    child.once('error', (error) => (spawnError = error));
    if (child.pid !== undefined) record.update({ port, serverPid: child.pid });
    const router = pgbouncerRouter({
      adminHost: '127.0.0.1',
      adminPort: port,
      adminPassword: options.password,
      iniPath,
      database: options.database,
      ...(options.serverDatabase ? { serverDatabase: options.serverDatabase } : {}),
    });
    try {
      await waitUntil(async () => (await router.check()).reachable, {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: 'pgbouncer',
        failed: () =>
          spawnError
            ? (spawnError as NodeJS.ErrnoException).code === 'ENOENT'
              ? 'pgbouncer is not installed (apt-get install pgbouncer)'
              : spawnError.message
            : child.exitCode !== null
              ? `exit ${child.exitCode}: ${firstLines(stderr + safeRead(logFile))}`
              : undefined,
      });
    } catch (error) {
      await killAndWait(child);
      if (
        options.port === undefined &&
        attempt < 3 &&
        /Address already in use/i.test(stderr + safeRead(logFile))
      )
        continue;
      removeDir(dir);
      record.remove();
      throw error;
    }
    return instance(router, child, {
      dir,
      port,
      iniPath,
      logFile,
      database: options.database,
      password: options.password,
      record,
    });
  }
}

function instance(
  router: PgbouncerRouter,
  child: ChildProcess,
  parts: {
    dir: string;
    port: number;
    iniPath: string;
    logFile: string;
    database: string;
    password: string;
    record: RecordHandle;
  },
): PgbouncerInstance {
  const stop = once(async () => {
    try {
      await killAndWait(child);
    } finally {
      removeDir(parts.dir);
      unregister();
    }
  });
  const unregister = registerInstance(
    {
      stop,
      killSync: () => {
        child.kill('SIGKILL');
        removeDir(parts.dir);
      },
    },
    parts.record,
  );
  // When our own pgbouncer has died, say how and what it logged last, instead of a bare
  // "connection refused" from its admin console.
  const explained =
    <A extends unknown[]>(act: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      try {
        await act(...args);
      } catch (error) {
        const end = child.exitCode ?? child.signalCode;
        if (end === null) throw error;
        throw new EnvironmentError(
          `${(error as Error).message}: pgbouncer (pid ${child.pid}) had ended (${typeof end === 'number' ? `exit ${end}` : end}); its log ends: ${lastLines(safeRead(parts.logFile), 3)}`,
          { cause: error },
        );
      }
    };
  return {
    ...router,
    block: explained(() => router.block()),
    pause: explained((timeoutMs: number) => router.pause(timeoutMs)),
    switchTo: explained((target: RouteTarget) => router.switchTo(target)),
    url: `postgres://postgres:${encodeURIComponent(parts.password)}@127.0.0.1:${parts.port}/${parts.database}`,
    port: parts.port,
    dataDir: parts.dir,
    iniPath: parts.iniPath,
    logFile: parts.logFile,
    stop,
  };
}

function iniText(options: StartPgbouncerOptions, dir: string, port: number, logFile: string): string {
  return [
    '[databases]',
    `${options.database} = ${databaseConnstr(options.target, options.serverDatabase ?? options.database)}`,
    '',
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    `unix_socket_dir = ${dir}`,
    'auth_type = scram-sha-256',
    `auth_file = ${join(dir, 'userlist.txt')}`,
    'admin_users = postgres',
    `pool_mode = ${options.poolMode ?? 'transaction'}`,
    'max_client_conn = 200',
    'default_pool_size = 20',
    // The default (15 s) would hold clients off the new primary long after the switch.
    'server_login_retry = 0.1',
    // A black-holed server must not hold a connection attempt for the default 15 s.
    'server_connect_timeout = 2',
    'query_wait_timeout = 60',
    'ignore_startup_parameters = extra_float_digits,options',
    `logfile = ${logFile}`,
    `pidfile = ${join(dir, 'pgbouncer.pid')}`,
    ...(options.extraIni ?? []),
    '',
  ].join('\n');
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join(' / ');
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
