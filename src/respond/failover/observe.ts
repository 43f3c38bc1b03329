/**
 * Looking at the world before a failover: the primary (or what the monitor last saw of it),
 * each standby, the router. Reads only; planFailover decides from the result.
 */
import type { FailoverObserved, FailureClass, ObservedStandby } from './failover-plan.js';
import { samplePrimary, type PrimarySample } from './monitor.js';
import type { Router } from './route.js';
import type { ManagedServer } from './server.js';
import { query } from '../../stores/postgres/sql.js';

export interface FailoverTopology {
  primary: ManagedServer;
  standbys: ManagedServer[];
  /** null: no router (clients are repointed by other means). */
  router: Router | null;
}

export interface ObserveOptions {
  /** What the monitor knows when it declared the primary lost: then the primary is not probed again. */
  loss?: { failure: FailureClass; message: string; lastSample?: PrimarySample };
  /** Per probe. Default: 2 s. */
  timeoutMs?: number;
}

export async function observeFailover(
  topology: FailoverTopology,
  options: ObserveOptions = {},
): Promise<FailoverObserved> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const { primary, router } = topology;
  const primaryLook = options.loss
    ? Promise.resolve({ sample: options.loss.lastSample, error: options.loss.message })
    : samplePrimary(primary.url, timeoutMs).then(
        (sample) => ({ sample, error: undefined }),
        (error: Error) => ({ sample: undefined, error: error.message }),
      );
  const [look, agentReachable, routerStatus, standbys] = await Promise.all([
    primaryLook,
    primary.agentReachable().catch(() => false),
    router ? router.check() : Promise.resolve(null),
    Promise.all(topology.standbys.map((s) => observeStandby(s, timeoutMs))),
  ]);
  const reachable = !options.loss && look.error === undefined;
  const sample = look.sample;
  const renewedAt = primary.lease?.renewedAt();
  return {
    at: Date.now(),
    primary: {
      name: primary.name,
      endpoint: primary.endpoint,
      reachable,
      ...(options.loss ? { failure: options.loss.failure } : {}),
      ...(look.error !== undefined ? { error: look.error } : {}),
      agentReachable,
      ...(primary.lease
        ? { lease: { ttlMs: primary.lease.ttlMs, ...(renewedAt !== undefined ? { renewedAt } : {}) } }
        : {}),
    },
    standbys: standbys.map((s) => {
      const replica = sample?.replicas.find((r) => r.name === s.name);
      return {
        ...s,
        streaming: sample ? replica?.state === 'streaming' : null,
        syncState: replica?.syncState ?? null,
        lagBytes: replica ? replica.unflushedBytes : null,
        lagSeconds: replica ? replica.flushLagSeconds : null,
        ...(sample ? { lagSampledAt: sample.at } : {}),
      };
    }),
    router:
      router && routerStatus
        ? {
            kind: router.kind,
            name: router.name,
            canBlock: router.canBlock,
            reachable: routerStatus.reachable,
            ...(routerStatus.error !== undefined ? { error: routerStatus.error } : {}),
            ...(routerStatus.target !== undefined ? { target: routerStatus.target } : {}),
          }
        : null,
  };
}

type StandbyLook = Omit<
  ObservedStandby,
  'streaming' | 'syncState' | 'lagBytes' | 'lagSeconds' | 'lagSampledAt'
>;

async function observeStandby(server: ManagedServer, timeoutMs: number): Promise<StandbyLook> {
  try {
    const [row] = await query(server.url, 'SELECT pg_is_in_recovery() AS recovering', { timeoutMs });
    return {
      name: server.name,
      endpoint: server.endpoint,
      reachable: true,
      inRecovery: row?.recovering === true,
    };
  } catch (error) {
    return {
      name: server.name,
      endpoint: server.endpoint,
      reachable: false,
      inRecovery: false,
      error: (error as Error).message,
    };
  }
}
