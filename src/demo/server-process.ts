/**
 * The process that owns the demo's throwaway servers (run by servers.ts, never by hand).
 *
 * Why a process of its own: `lifeboat demo --keep` must leave the servers running after the
 * demo exits, and the sandbox stops every instance when the process that started it exits
 * (so that a test or a verification never leaves one behind). This process starts them,
 * reports their URLs as one JSON line on stdout, and stops them when
 * - it gets SIGTERM or SIGINT (the demo is done, or `lifeboat demo --stop DIR`), or
 * - its stdin closes without a `keep` line first: the demo died, however it died.
 * After `keep` it runs until SIGTERM.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { LifeboatError, coerceError } from '../errors.js';
import { startMariadb, startPostgres, startRedis } from '../stores/index.js';
import { stopAll, type Instance } from '../system/instance.js';
import { interruptOnSignals } from '../system/signals.js';
import type { DemoServerInfo } from './servers.js';

const stateFile = process.argv[2];

async function main(): Promise<void> {
  let stopping: Promise<void> | undefined;
  let keep = false;
  let startup: Promise<unknown> = Promise.resolve();
  // A server still starting would escape stopAll (it registers once up): wait for the starts.
  const stop = (code: number) => {
    stopping ??= startup
      .catch(() => undefined)
      .then(() => stopAll())
      .catch(() => undefined)
      .then(() => {
        if (stateFile) rmSync(stateFile, { force: true });
        process.exit(code);
      });
  };
  interruptOnSignals(() => stop(0));
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    if (chunk.includes('keep')) keep = true;
  });
  process.stdin.on('end', () => {
    if (!keep) stop(0);
  });
  process.stdin.resume();
  // The sandbox unrefs its servers (a forgotten one must not keep a process alive); here
  // keeping them is the whole point, so this process waits until told to stop.
  setInterval(() => undefined, 60_000);

  const started = Date.now();
  const starting = Promise.allSettled([
    startPostgres({ fast: true }),
    startMariadb({ fast: true }),
    startRedis(),
  ]);
  startup = starting;
  const settled = await starting;
  if (stopping) return;
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) {
    const error = coerceError(failure.reason);
    report({
      error: {
        message: error.message,
        ...(error instanceof LifeboatError && error.hint ? { hint: error.hint } : {}),
      },
    });
    stop(1);
    return;
  }
  const [postgres, mariadb, redis] = settled.map((s) => (s as PromiseFulfilledResult<Instance>).value) as [
    Instance,
    Instance,
    Instance,
  ];
  const info: DemoServerInfo = {
    pid: process.pid,
    startSeconds: (Date.now() - started) / 1000,
    postgres: { url: postgres.url, port: postgres.port, dataDir: postgres.dataDir },
    mariadb: { url: mariadb.url, port: mariadb.port, dataDir: mariadb.dataDir },
    redis: { url: redis.url, port: redis.port, dataDir: redis.dataDir },
  };
  // The urls carry the servers' passwords.
  if (stateFile) writeFileSync(stateFile, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  report({ ready: info });
}

function report(message: object): void {
  // The parent may be gone already; nothing else can be told then.
  try {
    process.stdout.write(JSON.stringify(message) + '\n');
  } catch {
    // ignored: see above
  }
}

process.stdout.on('error', () => undefined);
void main();
