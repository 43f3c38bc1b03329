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
import { readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { PostgresInstance } from '../stores/postgres/sandbox.js';
import { managedFromInstance, type Lease, type ManagedServer } from '../respond/failover/server.js';
import { livePostmasterPid } from '../system/process.js';
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

/**
 * Kills the postmaster and all its children at one instant: every process is frozen
 * (SIGSTOP) first, so none acknowledges a commit while the others die, then killed.
 */
export function killPostgres(dataDir: string): void {
  // Only a postmaster still running this data dir: after a first kill the pid file stays, and
  // its pid may since belong to any process of this host.
  const postmaster = livePostmasterPid(dataDir);
  if (postmaster === undefined) return;
  const pids = [postmaster, ...childrenOf(postmaster)];
  for (const pid of pids) signal(pid, 'SIGSTOP');
  for (const pid of [...pids, ...childrenOf(postmaster)]) signal(pid, 'SIGKILL');
}

function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(join('/proc', entry, 'stat'), 'utf8');
      // Fields after the command name (which may hold spaces): state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) children.push(Number(entry));
    } catch {
      // Exited meanwhile.
    }
  }
  return children;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** The instance's url (its password included) through another port on this host. */
function viaPort(url: string, port: number): string {
  const via = new URL(url);
  via.port = String(port);
  return via.toString();
}
