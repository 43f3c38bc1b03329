/**
 * A throwaway MariaDB server in a temp dir (0700) on a free loopback port. When Lifeboat is
 * root the server drops to the `mysql` OS user, so a restored dump cannot write files as root
 * (SELECT ... INTO OUTFILE is confined to the temp dir too). Any local user can open the
 * port, so root has a random password, set while the data dir is created (before the server
 * ever listens), and no other account logs in over TCP.
 */
import { spawn } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError } from '../../errors.js';
import { mysqlRows, parseMysqlUrl } from './client.js';
import { firstLines, missingToolError, runTool } from '../../system/tool.js';
import { onFreePort } from '../../system/free-port.js';
import {
  makeTempDir,
  newInstancePassword,
  osUser,
  recordInstance,
  removeDir,
  runningAsRoot,
  childServerLifecycle,
  killAndWait,
  waitUntil,
  type Instance,
  type RecordHandle,
} from '../../system/instance.js';

export interface StartMariadbOptions {
  /** TCP port on 127.0.0.1. Default: a free port. */
  port?: number;
  /** Trade durability for speed (no flush at commit, no doublewrite). Default: false. */
  fast?: boolean;
  /** Extra `mariadbd` options, e.g. `['--max-allowed-packet=256M']`. Default: none. */
  extraArgs?: string[];
  /** How long to wait for the server to answer. Default: 60 s. */
  startTimeoutMs?: number;
}

export interface MariadbInstance extends Instance {
  /**
   * `mysql://root:PASSWORD@127.0.0.1:PORT/`: a secret. Print it through `redactUrl`; the
   * client gets the password from MYSQL_PWD (`parseMysqlUrl`), never as an argument.
   */
  readonly url: string;
  readonly socket: string;
  /** Runs SQL (in `database` when given) and returns the rows of the last result. */
  query(sql: string, database?: string): Promise<string[][]>;
}

export async function startMariadb(options: StartMariadbOptions = {}): Promise<MariadbInstance> {
  const owner = runningAsRoot() ? osUser('mysql') : undefined;
  const dir = makeTempDir('mariadb', owner);
  const dataDir = join(dir, 'data');
  const userArgs = owner ? [`--user=${owner.name}`] : [];
  // Its own tmpdir: concurrent servers sharing /tmp can collide on internal temp-table
  // names during bootstrap ("Could not remove temporary table ... Aborting").
  const tmpDir = join(dir, 'tmp');
  mkdirSync(tmpDir);
  if (owner) chownSync(tmpDir, owner.uid, owner.gid);
  const serverArgs = [...userArgs, `--tmpdir=${tmpDir}`];
  const password = newInstancePassword();
  let record: RecordHandle | undefined;
  try {
    record = recordInstance({ kind: 'mariadb', tempDir: dir, dataDir, stopSignal: 'SIGKILL' });
    await installDb(dir, dataDir, serverArgs, password);
    const files = join(dir, 'files');
    mkdirSync(files);
    if (owner) chownSync(files, owner.uid, owner.gid);
    const started = record;
    return await onFreePort(options.port, (port) =>
      startOn({ dir, dataDir, files, port, serverArgs, options, password, record: started }),
    );
  } catch (error) {
    removeDir(dir);
    record?.remove();
    throw error;
  }
}

/**
 * The system tables, with root's password set and every other way in over TCP removed
 * (anonymous accounts, root at ::1 or the host name), from a script in the private temp dir.
 */
async function installDb(
  dir: string,
  dataDir: string,
  serverArgs: string[],
  password: string,
): Promise<void> {
  const script = join(dir, 'secure.sql');
  const literal = `'${password}'`; // base64url: nothing to escape.
  writeFileSync(
    script,
    [
      "DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host NOT IN ('localhost', '127.0.0.1'));",
      'FLUSH PRIVILEGES;',
      `ALTER USER 'root'@'localhost' IDENTIFIED BY ${literal}, 'root'@'127.0.0.1' IDENTIFIED BY ${literal};`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  try {
    const install = await runTool(
      'mariadb-install-db',
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        '--skip-name-resolve',
        `--extra-file=${script}`,
        ...serverArgs,
      ],
      { cwd: dir, secrets: [password] },
    );
    if (install.code !== 0)
      throw new EnvironmentError(
        `mariadb-install-db failed: ${firstLines(install.stderr || install.stdout)}`,
      );
  } finally {
    rmSync(script, { force: true });
  }
}

interface StartParts {
  dir: string;
  dataDir: string;
  files: string;
  port: number;
  serverArgs: string[];
  options: StartMariadbOptions;
  password: string;
  record: RecordHandle;
}

async function startOn({
  dir,
  dataDir,
  files,
  port,
  serverArgs,
  options,
  password,
  record,
}: StartParts): Promise<MariadbInstance> {
  const socket = join(dir, 'mysqld.sock');
  const log = join(dir, 'error.log');
  const args = [
    '--no-defaults',
    `--datadir=${dataDir}`,
    `--socket=${socket}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--pid-file=${join(dir, 'mysqld.pid')}`,
    `--log-error=${log}`,
    `--secure-file-priv=${files}`,
    '--skip-name-resolve',
    '--skip-log-bin',
    '--innodb-buffer-pool-size=32M',
    '--innodb-log-file-size=16M',
    ...(options.fast
      ? ['--innodb-flush-log-at-trx-commit=0', '--innodb-doublewrite=0', '--sync-binlog=0']
      : []),
    ...serverArgs,
    ...(options.extraArgs ?? []),
  ];
  const child = spawn('mariadbd', args, { cwd: dir, stdio: 'ignore' });
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
  const url = `mysql://root:${password}@127.0.0.1:${port}/`;
  const conn = parseMysqlUrl(url);
  try {
    await waitUntil(
      // Our server, not another one that got the port first: its socket is ours.
      async () =>
        exited === undefined &&
        mysqlRows(conn, 'SELECT @@socket').then(
          (rows) => rows[0]?.[0] === socket,
          () => false,
        ),
      {
        what: `mariadbd on port ${port}`,
        timeoutMs: options.startTimeoutMs ?? 60_000,
        intervalMs: 50,
        failed: () => (exited === undefined ? undefined : `${exited}: ${lastErrors(log)}`),
      },
    );
  } catch (error) {
    await killAndWait(child);
    if (exited === 'ENOENT') throw missingToolError('mariadbd', error);
    throw error;
  }

  // A throwaway server needs no clean shutdown: SIGKILL skips InnoDB's buffer flush.
  const stop = childServerLifecycle(child, dir, 'SIGKILL', record);
  return { url, port, dataDir, socket, query: (sql, database) => mysqlRows(conn, sql, database), stop };
}

function lastErrors(log: string): string {
  try {
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    const errors = lines.filter((l) => /\[ERROR\]/.test(l));
    return (errors.length > 0 ? errors : lines).slice(-3).join(' / ');
  } catch {
    return '(no error log)';
  }
}
