/**
 * Restart in place: when PostgreSQL crashed but its host and data are intact, starting it
 * again (crash recovery replays its own WAL) loses nothing and moves no client, so a plan
 * may ask for it before a failover. It fails fast when the data directory is gone.
 */
import { EnvironmentError } from '../../errors.js';
import { samplePrimary } from './monitor.js';
import type { ManagedServer } from './server.js';
import { pollUntil } from '../../system/poll.js';

export async function restartInPlace(
  server: ManagedServer,
  timeoutMs = 30_000,
): Promise<{ seconds: number }> {
  const t0 = performance.now();
  // A crash can leave the postmaster's children behind for a moment; make sure all are gone.
  await server.stop('immediate').catch(() => undefined);
  try {
    await server.start();
    await pollUntil(
      () => samplePrimary(server.url, 2000).then(() => true),
      timeoutMs,
      `${server.name} did not answer after restart`,
    );
  } catch (error) {
    throw new EnvironmentError(`restarting ${server.name} in place failed: ${(error as Error).message}`, {
      hint: 'Fail over to a standby instead.',
      cause: error,
    });
  }
  return { seconds: (performance.now() - t0) / 1000 };
}
