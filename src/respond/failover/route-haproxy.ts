/**
 * Routing through HAProxy in TCP mode, driven by its runtime API over the admin stats
 * socket: `set server BACKEND/SERVER addr HOST port PORT` repoints the one server line,
 * `disable`/`enable server` fence it and `shutdown sessions server` drops the connections
 * still open to the old address. No reload, no config rewrite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { EnvironmentError } from '../../errors.js';
import { freePort } from '../../system/free-port.js';
import {
  killAndWait,
  makeTempDir,
  once,
  registerInstance,
  removeDir,
  waitUntil,
  type Instance,
} from '../../system/instance.js';
import { firstLines } from '../../system/tool.js';
import type { Router, RouterStatus, RouteTarget } from './route.js';

export interface HaproxyRouterOptions {
  /** Path of the stats socket declared with `level admin`. */
  socketPath: string;
  backend: string;
  server: string;
}

/** Sends one runtime API command and returns its answer. */
export async function haproxyCommand(socketPath: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let out = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new EnvironmentError(`HAProxy at ${socketPath} did not answer "${command}" within ${timeoutMs} ms`),
      );
    }, timeoutMs);
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(
        new EnvironmentError(`HAProxy's stats socket ${socketPath} is unreachable: ${error.message}`, {
          hint: 'Declare it in the global section: stats socket PATH mode 600 level admin',
          cause: error,
        }),
      );
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

export function haproxyRouter(options: HaproxyRouterOptions): Router {
  const ref = `${options.backend}/${options.server}`;
  const run = async (command: string): Promise<string> => {
    const answer = await haproxyCommand(options.socketPath, command);
    // Successful commands answer nothing (or a short notice); failures say so in words.
    if (/^(No such|Unknown|Require|Invalid|Permission denied)/im.test(answer.trim()))
      throw new EnvironmentError(`HAProxy refused "${command}": ${firstLines(answer)}`);
    return answer;
  };
  const block = async () => {
    await run(`disable server ${ref}`);
    await run(`shutdown sessions server ${ref}`);
  };
  return {
    kind: 'haproxy',
    name: `haproxy ${ref}`,
    canBlock: true,
    check: async (): Promise<RouterStatus> => {
      try {
        const state = await run(`show servers state ${options.backend}`);
        // Columns: be_id be_name srv_id srv_name srv_addr ... srv_port (19th).
        const line = state.split('\n').find((l) => l.split(' ')[3] === options.server);
        if (!line) return { reachable: false, error: `HAProxy has no server ${ref}` };
        const fields = line.split(' ');
        return { reachable: true, target: `${fields[4]}:${fields[18]}` };
      } catch (error) {
        return { reachable: false, error: (error as Error).message };
      }
    },
    block,
    // HAProxy cannot hold clients: a planned switch cuts them off too, and they reconnect.
    pause: block,
    switchTo: async (target: RouteTarget) => {
      await run(`set server ${ref} addr ${target.host} port ${target.port}`);
      await run(`shutdown sessions server ${ref}`);
      await run(`enable server ${ref}`);
    },
  };
}

export interface HaproxyInstance extends Instance, Router {
  readonly socketPath: string;
}

/**
 * A throwaway HAProxy in TCP mode on a free loopback port, in front of `target`. It passes
 * connections through: the servers behind it ask the password, which `password` puts in its url.
 */
export async function startHaproxy(target: RouteTarget, password?: string): Promise<HaproxyInstance> {
  const dir = makeTempDir('haproxy');
  const socketPath = join(dir, 'admin.sock');
  const configPath = join(dir, 'haproxy.cfg');
  const port = await freePort();
  writeFileSync(
    configPath,
    [
      'global',
      `  stats socket ${socketPath} mode 600 level admin`,
      '  maxconn 500',
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      '  timeout client 1h',
      '  timeout server 1h',
      'frontend pg',
      `  bind 127.0.0.1:${port}`,
      '  default_backend pg',
      'backend pg',
      `  server primary ${target.host}:${target.port}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('haproxy', ['-f', configPath, '-db'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const router = haproxyRouter({ socketPath, backend: 'pg', server: 'primary' });
  try {
    await waitUntil(async () => existsSync(socketPath) && (await router.check()).reachable, {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: 'haproxy',
      failed: () =>
        spawnError
          ? spawnError.message
          : child.exitCode !== null
            ? `exit ${child.exitCode}: ${firstLines(stderr)}`
            : undefined,
    });
  } catch (error) {
    await killAndWait(child);
    removeDir(dir);
    throw error;
  }
  const stop = once(async () => {
    try {
      await killAndWait(child);
    } finally {
      removeDir(dir);
      unregister();
    }
  });
  const unregister = registerInstance({
    stop,
    killSync: () => {
      child.kill('SIGKILL');
      removeDir(dir);
    },
  });
  return {
    ...router,
    url: `postgres://postgres${password === undefined ? '' : `:${encodeURIComponent(password)}`}@127.0.0.1:${port}/postgres`,
    port,
    dataDir: dir,
    socketPath,
    stop,
  };
}
