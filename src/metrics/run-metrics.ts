/**
 * `lifeboat run --metrics`: the scheduler's counters and the plan's status, served for
 * Prometheus while the scheduler runs. The status is computed on scrapes, through the
 * cache that bounds how long a scrape waits and how often the servers are asked.
 */
import { coerceError, LifeboatError } from '../errors.js';
import type { ProtectContext } from '../protect/context.js';
import { cachedValue } from './cached-status.js';
import { collectStatus } from './collect-status.js';
import { datasetMetrics } from './dataset-metrics.js';
import { renderExposition } from './exposition.js';
import type { SchedulerCounters } from './scheduler-metrics.js';
import { startMetricsServer, type ListenAddress, type MetricsServer } from './server.js';

export interface RunMetricsOptions {
  listen: ListenAddress;
  counters: SchedulerCounters;
  /** Told, in one sentence, when the status could not be computed for a scrape. */
  warn: (message: string) => void;
  /** How long a computed status is served, in ms. Default: 10000. */
  freshMs?: number;
  /** How long a scrape waits for the status, in ms. Default: 4000. */
  waitMs?: number;
}

/** Listens at once (so a port in use stops `run` before any work starts); `close` waits for a status still being computed. */
export async function serveRunMetrics(
  context: ProtectContext,
  options: RunMetricsOptions,
): Promise<MetricsServer> {
  const { counters, warn } = options;
  const status = cachedValue({
    collect: () => collectStatus(context),
    freshMs: options.freshMs,
    waitMs: options.waitMs,
    onFailure: (error) => {
      counters.collectFailed();
      warn(
        error
          ? `the status could not be computed: ${describe(error)}; serving the last one computed`
          : `the status took longer than ${(options.waitMs ?? 4000) / 1000}s; serving the last one computed until it is done`,
      );
    },
  });
  const server = await startMetricsServer({
    listen: options.listen,
    render: async () => {
      const snapshot = await status.get();
      return renderExposition([...counters.families(), ...(snapshot ? datasetMetrics(snapshot) : [])]);
    },
    onError: (error) => warn(`rendering /metrics failed: ${describe(error)}`),
  });
  return {
    ...server,
    close: async () => {
      await server.close();
      await status.settle();
    },
  };
}

function describe(error: unknown): string {
  const e = coerceError(error);
  return e instanceof LifeboatError ? e.message : `internal error: ${e.stack ?? e.message}`;
}
