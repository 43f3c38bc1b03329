/**
 * The primary's host in a sandbox failover drill, and the three faults it can suffer:
 *
 * - crash: every PostgreSQL process is killed (SIGKILL, as the OOM killer would); the host
 *   and its data stay, so the relay answers with resets and PostgreSQL could be started again.
 * - host: the network to it goes silent, every process is killed and the data directory is
 *   made unavailable (renamed away): it can neither answer nor be restarted.
 * - partition: the network to it goes silent; PostgreSQL keeps running behind the cut.
 *
 * Its agent (what Lifeboat would reach by ssh) answers only while the network is whole, and
 * it holds a lease: a timer on the host renews it while the host can reach Lifeboat and,
 * once it could not for the lease's TTL, stops PostgreSQL itself (the watchdog).
 */
import { renameSync } from 'node:fs';
import type { PostgresInstance } from '../stores/postgres/sandbox.js';
import { managedFromInstance, type Lease, type ManagedServer } from '../respond/failover/server.js';
import { killPostmasterTree } from '../system/process.js';
import { startNetworkPath, type NetworkPath } from './failover-network.js';

export type FaultKind = 'crash' | 'host' | 'partition';

export interface SimulatedHostOptions {
  name?: string;
  /** Lease TTL; 0 disables the lease and its watchdog. Default: 2000 ms. */
  leaseTtlMs?: number;
}

export interface SimulatedHost {
  readonly network: NetworkPath;
  /** The primary as Lifeboat sees it: through the network, with the host's agent and lease. */
  readonly server: ManagedServer;
  readonly instance: PostgresInstance;
  /** Epoch ms when the watchdog stopped PostgreSQL, if it did. */
  readonly selfFencedAt: number | undefined;
  inject(fault: FaultKind): void;
  /** The network comes back (a lost host stays lost: its data is gone). */
  heal(): void;
  /** Puts a lost host's data directory back, for the post-mortem only. */
  recoverDisk(): void;
  close(): Promise<void>;
}

export async function startSimulatedHost(
  instance: PostgresInstance,
  options: SimulatedHostOptions = {},
): Promise<SimulatedHost> {
  const network = await startNetworkPath({ host: '127.0.0.1', port: instance.port });
  const ttlMs = options.leaseTtlMs ?? 2000;
  let agentCut = false;
  let renewedAt: number | undefined = Date.now();
  let selfFencedAt: number | undefined;
  const lostDataDir = `${instance.dataDir}.lost`;
  // One timer both renews and judges, so a stalled event loop cannot make it fence falsely.
  const watchdog =
    ttlMs > 0
      ? setInterval(() => {
          if (!agentCut) renewedAt = Date.now();
          else if (selfFencedAt === undefined && Date.now() - (renewedAt ?? 0) > ttlMs) {
            killPostgres(instance.dataDir);
            selfFencedAt = Date.now();
          }
        }, 50)
      : undefined;
  watchdog?.unref();
  const lease: Lease = { ttlMs, renewedAt: () => renewedAt };
  const server = managedFromInstance(instance, {
    name: options.name ?? 'primary',
    url: viaPort(instance.url, network.port),
    endpoint: { host: network.host, port: network.port },
    agentReachable: async () => !agentCut,
    ...(ttlMs > 0 ? { lease } : {}),
  });
  return {
    network,
    server,
    instance,
    get selfFencedAt() {
      return selfFencedAt;
    },
    inject: (fault) => {
      if (fault === 'crash') {
        killPostgres(instance.dataDir);
        return;
      }
      // Silence first: nothing the dying server sends may get out.
      network.cut();
      agentCut = true;
      if (fault === 'host') {
        killPostgres(instance.dataDir);
        renameSync(instance.dataDir, lostDataDir);
      }
    },
    heal: () => {
      agentCut = false;
      network.heal();
    },
    recoverDisk: () => {
      try {
        renameSync(lostDataDir, instance.dataDir);
      } catch {
        // Not lost.
      }
    },
    close: async () => {
      if (watchdog) clearInterval(watchdog);
      await network.close();
    },
  };
}

/** The crash fault: the postmaster and all its children killed at one instant. */
export const killPostgres = (dataDir: string): void => void killPostmasterTree(dataDir);

/** The instance's url (its password included) through another port on this host. */
function viaPort(url: string, port: number): string {
  const via = new URL(url);
  via.port = String(port);
  return via.toString();
}
