/**
 * Rejoin: after a failover, the old primary comes back as a standby of the new one, never
 * as a second primary. Its history forked from the new primary's at the promotion, so
 * `pg_rewind --source-server` first rolls back whatever it wrote past that point (writes
 * nobody else has, already counted as lost), then it starts in recovery and streams.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError, OperationError, RefusedError } from '../../errors.js';
import { firstLines } from '../../system/tool.js';
import { conninfoPassword, passwordEnv, type ManagedServer } from './server.js';
import { parsePgUrl } from '../../stores/postgres/psql.js';
import { query } from '../../stores/postgres/sql.js';
import { makeSynchronous, waitForStreaming, writeStandbySettings } from './standby.js';
import { FENCED_NOTE, releaseReadOnlyHold } from './read-only-hold.js';

export interface RejoinObserved {
  old: {
    name: string;
    agentReachable: boolean;
    dataDirAvailable: boolean;
    running: boolean;
    inRecovery: boolean | null;
    /** Marked by a failover to start read-only (standby.signal and the LIFEBOAT_FENCED note). */
    fenced: boolean;
  };
  newPrimary: { name: string; reachable: boolean; inRecovery: boolean | null; error?: string };
}

export type RejoinStep = 'stop' | 'rewind' | 'configure' | 'start' | 'stream';

export interface RejoinPlan {
  server: string;
  newPrimary: string;
  steps: RejoinStep[];
  sync: boolean;
}

export async function observeRejoin(old: ManagedServer, newPrimary: ManagedServer): Promise<RejoinObserved> {
  const look = async (server: ManagedServer) => {
    try {
      const [row] = await query(server.url, 'SELECT pg_is_in_recovery() AS r', { timeoutMs: 2000 });
      return { reachable: true, inRecovery: row?.r === true };
    } catch (error) {
      return { reachable: false, inRecovery: null, error: (error as Error).message };
    }
  };
  const [oldLook, newLook, agentReachable] = await Promise.all([
    look(old),
    look(newPrimary),
    old.agentReachable(),
  ]);
  return {
    old: {
      name: old.name,
      agentReachable,
      dataDirAvailable: existsSync(join(old.dataDir, 'PG_VERSION')),
      fenced: existsSync(join(old.dataDir, FENCED_NOTE)),
      running: oldLook.reachable,
      inRecovery: oldLook.inRecovery,
    },
    newPrimary: { name: newPrimary.name, ...newLook },
  };
}

/** Pure: what rejoining takes, or why it cannot be done. */
export function planRejoin(observed: RejoinObserved, options: { sync?: boolean } = {}): RejoinPlan {
  const { old, newPrimary } = observed;
  if (!newPrimary.reachable)
    throw new EnvironmentError(
      `the new primary ${newPrimary.name} is unreachable: ${newPrimary.error ?? 'no answer'}`,
      {
        hint: 'The old primary rewinds from it; bring it back first.',
      },
    );
  if (newPrimary.inRecovery)
    throw new RefusedError(`${newPrimary.name} is in recovery: it is not the primary to rejoin`, {
      hint: 'Rejoin the old primary to the server that was promoted.',
    });
  if (!old.agentReachable)
    throw new EnvironmentError(`the host of ${old.name} is unreachable: it cannot be rewound`, {
      hint: 'Restore access to the host, or leave it fenced and build a new standby instead.',
    });
  if (!old.dataDirAvailable)
    throw new EnvironmentError(`${old.name} has no data directory any more: there is nothing to rewind`, {
      hint: 'Build a new standby of the new primary from a base backup instead (createStandby).',
    });
  // A fenced old primary runs in recovery too, following nobody: that one still needs the rewind.
  if (old.running && old.inRecovery && !old.fenced)
    throw new RefusedError(`${old.name} is already running as a standby`, { hint: 'Nothing to do.' });
  return {
    server: old.name,
    newPrimary: newPrimary.name,
    steps: [...(old.running ? (['stop'] as const) : []), 'rewind', 'configure', 'start', 'stream'],
    sync: options.sync ?? false,
  };
}

export interface RejoinResult {
  seconds: number;
  /** pg_rewind's own summary line ("Done!", "no rewind required"). */
  rewind: string;
}

export async function applyRejoin(
  plan: RejoinPlan,
  old: ManagedServer,
  newPrimary: ManagedServer,
): Promise<RejoinResult> {
  const t0 = performance.now();
  let rewind = '';
  for (const step of plan.steps) {
    switch (step) {
      case 'stop':
        // Still up as a primary: stop it at once, it must take no write before the rewind.
        await old.stop('immediate');
        break;
      case 'rewind': {
        // A crashed old primary must finish its recovery first, with its own settings.
        if (!(await shutDownCleanly(old))) await old.recoverOffline();
        // pg_rewind reads the source's timeline from its control file, which a freshly
        // promoted server updates only at its first checkpoint: without one, it would see
        // both on the same timeline and answer "no rewind required".
        await query(newPrimary.url, 'CHECKPOINT');
        const result = await old.runBin(
          'pg_rewind',
          // The password through the environment: arguments show in `ps`.
          ['-D', old.dataDir, `--source-server=${parsePgUrl(newPrimary.url).uri}`, '-R'],
          {
            timeoutMs: 600_000,
            env: passwordEnv(newPrimary.url),
          },
        );
        if (result.code !== 0)
          throw new OperationError(
            `pg_rewind of ${old.name} from ${newPrimary.name} failed: ${firstLines(result.stderr)}`,
            {
              hint: 'pg_rewind needs wal_log_hints (or data checksums) on the old primary and its WAL back to the last checkpoint before the fork (wal_keep_size); otherwise build a new standby from a base backup.',
            },
          );
        rewind = firstLines(result.stderr.split('\n').slice(-2).join('\n'), 1);
        break;
      }
      case 'configure': {
        await query(
          newPrimary.url,
          `SELECT pg_create_physical_replication_slot($1) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`,
          { params: [old.name] },
        );
        const source = new URL(newPrimary.url);
        // A standby again: the fence's note no longer applies (pg_rewind -R wrote standby.signal).
        releaseReadOnlyHold(old.dataDir, { keepSignal: true });
        writeStandbySettings(old.dataDir, {
          primary_conninfo: `host=${newPrimary.endpoint.host} port=${newPrimary.endpoint.port} user=${decodeURIComponent(source.username || 'postgres')}${conninfoPassword(newPrimary.url)} application_name=${old.name} connect_timeout=2`,
          primary_slot_name: old.name,
        });
        break;
      }
      case 'start':
        await old.start();
        break;
      case 'stream':
        await waitForStreaming(newPrimary, old.name);
        if (plan.sync) await makeSynchronous(newPrimary, old.name);
        break;
    }
  }
  return { seconds: (performance.now() - t0) / 1000, rewind };
}

/** pg_controldata says the data directory was shut down cleanly (as a primary or a standby). */
async function shutDownCleanly(server: ManagedServer): Promise<boolean> {
  const control = await server.runBin('pg_controldata', ['-D', server.dataDir]);
  return /Database cluster state:\s+shut down/.test(control.stdout);
}
