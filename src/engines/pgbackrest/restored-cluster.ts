/**
 * Starting a cluster that pgBackRest has just restored, and waiting until it is really
 * usable. `pg_ctl -w` returns as soon as connections are accepted, which with hot_standby is
 * while WAL is still being replayed: the restore is done only when pg_is_in_recovery() is
 * false (the target was reached and the cluster promoted).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OperationError } from '../../errors.js';
import { makeTempDir, type OsUser } from '../../system/instance.js';
import { parseCsv, type Row } from '../../stores/postgres/psql.js';
import { firstLines, runTool } from '../../system/tool.js';
import { shellQuote } from './config.js';

export interface RestoredCluster {
  dataDir: string;
  port: number;
  socketDir: string;
  /** The server's OS user (undefined: the current user). */
  user: OsUser | undefined;
  binDir: string;
  logFile: string;
}

/** sun_path is 108 bytes with its NUL; PostgreSQL appends `/.s.PGSQL.<port>.lock`. */
const MAX_SOCKET_PATH = 100;

/** The data dir itself when the socket path fits (its user can always write there), else a temp dir. */
export function socketDirFor(dataDir: string, port: number, user: OsUser | undefined): string {
  if (`${dataDir}/.s.PGSQL.${port}.lock`.length <= MAX_SOCKET_PATH) return dataDir;
  return makeTempDir('sock', user);
}

/**
 * Starts it on `port` with archiving off on the command line (which beats any file), then
 * waits until recovery has ended. Throws with the server's own last words when it stops
 * (a target not found in the archived WAL, a missing segment).
 */
export async function startRestoredCluster(
  cluster: RestoredCluster,
  options: { timeoutMs: number },
): Promise<{ recoverySeconds: number }> {
  const started = Date.now();
  const serverOptions = [
    `-p ${cluster.port}`,
    // Belt and braces with pgBackRest's --archive-mode=off: a restored copy never archives.
    '-c archive_mode=off',
    `-c unix_socket_directories=${shellQuote(cluster.socketDir)}`,
  ].join(' ');
  const start = await runTool(
    join(cluster.binDir, 'pg_ctl'),
    [
      '-D',
      cluster.dataDir,
      '-l',
      cluster.logFile,
      '-w',
      '-t',
      String(Math.ceil(options.timeoutMs / 1000)),
      '-o',
      serverOptions,
      'start',
    ],
    { ...asUser(cluster.user), cwd: cluster.dataDir },
  );
  if (start.code !== 0 && !postmasterAlive(cluster.dataDir)) {
    throw new OperationError(
      `the restored cluster in ${cluster.dataDir} did not start: ${serverLastWords(cluster.logFile) ?? firstLines(start.stderr || start.stdout)}`,
      { hint: `its log is ${cluster.logFile}` },
    );
  }
  const deadline = started + options.timeoutMs;
  for (;;) {
    if (!postmasterAlive(cluster.dataDir)) {
      const words = serverLastWords(cluster.logFile) ?? 'no message in its log';
      throw new OperationError(`the restored cluster stopped during recovery: ${words}`, {
        hint: /before configured recovery target was reached/.test(words)
          ? `PostgreSQL stops at a target only on seeing a later commit (or the restore point) in the archived WAL, and none has been archived yet: everything archived is older than the target, so a restore to the latest gives that state. Its log is ${cluster.logFile}`
          : `its log is ${cluster.logFile}`,
      });
    }
    const rows = await restoredQuery(cluster, 'SELECT pg_is_in_recovery()').catch(() => undefined);
    if (rows?.[0]?.[0] === 'f') return { recoverySeconds: (Date.now() - started) / 1000 };
    if (Date.now() > deadline) {
      throw new OperationError(
        `the restored cluster is still recovering after ${Math.round(options.timeoutMs / 1000)} s`,
        { hint: `it keeps running; watch ${cluster.logFile}, or stop it: pg_ctl -D ${cluster.dataDir} stop` },
      );
    }
    await sleep(200);
  }
}

/** Stops it (fast: it is a copy, and immediate would leave it needing crash recovery). */
export async function stopRestoredCluster(
  cluster: Pick<RestoredCluster, 'dataDir' | 'user' | 'binDir'>,
  mode: 'fast' | 'immediate' = 'fast',
): Promise<void> {
  if (!existsSync(join(cluster.dataDir, 'postmaster.pid'))) return;
  await runTool(join(cluster.binDir, 'pg_ctl'), ['-D', cluster.dataDir, '-m', mode, '-w', 'stop'], {
    ...asUser(cluster.user),
    cwd: '/',
  });
}

/** A query over the Unix socket, as the server's OS user (peer or trust auth, no password). */
export async function restoredQuery(
  cluster: Pick<RestoredCluster, 'socketDir' | 'port' | 'user'>,
  sql: string,
  database = 'postgres',
): Promise<Row[]> {
  const result = await runTool(
    'psql',
    [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '--csv',
      '-t',
      '-P',
      'null=\\N',
      '-h',
      cluster.socketDir,
      '-p',
      String(cluster.port),
      ...(cluster.user ? ['-U', cluster.user.name] : []),
      '-d',
      database,
      '-c',
      sql,
    ],
    { ...asUser(cluster.user), cwd: '/', env: { PGCONNECT_TIMEOUT: '5' } },
  );
  if (result.code !== 0)
    throw new OperationError(`query on the restored cluster failed: ${firstLines(result.stderr)}`);
  return parseCsv(result.stdout);
}

export function postmasterAlive(dataDir: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The server log's FATAL/PANIC lines (recovery failures), else its last lines. */
function serverLastWords(logFile: string): string | undefined {
  if (!existsSync(logFile)) return undefined;
  const lines = readFileSync(logFile, 'utf8').trim().split('\n');
  const fatal = lines.filter((l) => /\b(FATAL|PANIC):/.test(l));
  const chosen = fatal.length > 0 ? fatal.slice(-2) : lines.slice(-3);
  return (
    chosen.map((l) => l.replace(/^.*?\b(FATAL|PANIC|LOG|ERROR|WARNING):\s+/, '$1: ')).join(' / ') || undefined
  );
}

function asUser(user: OsUser | undefined): { uid?: number; gid?: number } {
  return user ? { uid: user.uid, gid: user.gid } : {};
}
