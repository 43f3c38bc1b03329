/**
 * A throwaway Redis server in a temp dir (0700) on a free loopback port, optionally loaded
 * from an RDB file (how a Redis backup is proven: the server reads it at start-up). Any
 * local user can open the port, so it always requires a password, random unless given,
 * read from a configuration file in the temp dir (never an argument, which `ps` shows).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRedisUrl, redisCli } from './client.js';
import { missingToolError } from '../../system/tool.js';
import { onFreePort } from '../../system/free-port.js';
import {
  makeTempDir,
  newInstancePassword,
  recordInstance,
  removeDir,
  childServerLifecycle,
  killAndWait,
  waitUntil,
  type Instance,
  type RecordHandle,
} from '../../system/instance.js';

export interface StartRedisOptions {
  /** TCP port on 127.0.0.1. Default: a free port. */
  port?: number;
  /** An RDB file to load at start-up (copied in as dump.rdb). Default: start empty. */
  rdbFile?: string;
  /** The password it requires (`requirepass`); the url carries it. Default: a random one. */
  password?: string;
  /** Extra `redis-server` arguments, e.g. `['--databases', '32']`. Default: none. */
  extraArgs?: string[];
  /** How long to wait for PING to answer (a big RDB loads first). Default: 60 s. */
  startTimeoutMs?: number;
}

export interface RedisInstance extends Instance {
  /**
   * `redis://default:PASSWORD@127.0.0.1:PORT/`: a secret. Print it through `redactUrl`; redis-cli gets
   * the password from REDISCLI_AUTH (`parseRedisUrl`), never as an argument.
   */
  readonly url: string;
  /** Runs one command in database `db` (default 0) and returns redis-cli's raw output. */
  cli(command: string[], db?: number): Promise<string>;
}

export async function startRedis(options: StartRedisOptions = {}): Promise<RedisInstance> {
  const dir = makeTempDir('redis');
  const password = options.password ?? newInstancePassword();
  let record: RecordHandle | undefined;
  try {
    record = recordInstance({ kind: 'redis', tempDir: dir, dataDir: dir, stopSignal: 'SIGKILL' });
    if (options.rdbFile) copyFileSync(options.rdbFile, join(dir, 'dump.rdb'));
    // requirepass in a file: quoted for redis.conf, base64url or not.
    writeFileSync(join(dir, 'secret.conf'), `requirepass "${password.replace(/["\\]/g, '\\$&')}"\n`, {
      mode: 0o600,
    });
    const started = record;
    return await onFreePort(options.port, (port) => startOn(dir, port, password, options, started));
  } catch (error) {
    removeDir(dir);
    record?.remove();
    throw error;
  }
}

async function startOn(
  dir: string,
  port: number,
  password: string,
  options: StartRedisOptions,
  record: RecordHandle,
): Promise<RedisInstance> {
  // prettier-ignore
  const args = [
    join(dir, 'secret.conf'),
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--dbfilename', 'dump.rdb',
    // Nothing is ever written back: the RDB under test stays as restored.
    '--save', '',
    '--appendonly', 'no',
    '--daemonize', 'no',
    '--logfile', join(dir, 'redis.log'),
    // `redis-cli --rdb` is a replica: do not wait the default 5 s for more replicas to join.
    '--repl-diskless-sync-delay', '0',
    ...(options.extraArgs ?? []),
  ];
  const child = spawn('redis-server', args, { cwd: dir, stdio: 'ignore' });
  if (child.pid !== undefined) record.update({ port, serverPid: child.pid });
  // A forgotten instance must not keep Node running; the exit hook kills it.
  child.unref();
  let exited: string | undefined;
  child.once('error', (error) => {
    exited = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'ENOENT' : error.message;
  });
  child.once('exit', (code, signal) => {
    exited ??= `exited (${signal ?? code})`;
  });
  // `default:` named: redis-cli -u sends AUTH with an empty user name otherwise, and fails.
  const url = `redis://default:${encodeURIComponent(password)}@127.0.0.1:${port}/`;
  const conn = parseRedisUrl(url);
  const realDir = realpathSync(dir);
  try {
    await waitUntil(
      async () => {
        if (exited !== undefined) return false;
        // Our server, not another one that got the port first: its dir is ours.
        const ours = await redisCli(conn, ['CONFIG', 'GET', 'dir']).then(
          (out) => out.split('\n')[1] === realDir,
          () => false,
        );
        // It answers INFO and CONFIG while it loads the RDB, and refuses everything else.
        return (
          ours &&
          redisCli(conn, ['INFO', 'persistence']).then(
            (out) => /^loading:0\r?$/m.test(out),
            () => false,
          )
        );
      },
      {
        what: `redis-server on port ${port}`,
        timeoutMs: options.startTimeoutMs ?? 60_000,
        failed: () => (exited === undefined ? undefined : `${exited} ${readLog(dir)}`.trim()),
      },
    );
  } catch (error) {
    await killAndWait(child);
    if (exited === 'ENOENT') throw missingToolError('redis-server', error);
    throw error;
  }

  const stop = childServerLifecycle(child, dir, 'SIGTERM', record);
  return { url, port, dataDir: dir, cli: (command, db = 0) => redisCli(conn, command, db), stop };
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'redis.log'), 'utf8').trim().split('\n').slice(-3).join(' / ');
  } catch {
    return '';
  }
}
