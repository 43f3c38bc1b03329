/**
 * planFailover: what a failover or switchover will do, decided from what was observed, with
 * no I/O. It refuses (throws, having changed nothing) when acting would lose more than the
 * RPO allows, when there is nothing to fail over to, or when clients could not be routed;
 * each message names what and says what to do. applyFailover (failover.ts) carries it out.
 */
import { EnvironmentError, RefusedError, UsageError } from '../../errors.js';
import type { RouteTarget } from './route.js';
import type { Endpoint } from './server.js';

export type FailoverMode = 'failover' | 'switchover';

/** How the monitor lost the primary: refused = the host answered but PostgreSQL did not (a crash). */
export type FailureClass = 'refused' | 'timeout' | 'error';

export interface ObservedPrimary {
  name: string;
  endpoint: Endpoint;
  /** It answered SQL as a primary just now. */
  reachable: boolean;
  /** Why not, as the monitor classified it. */
  failure?: FailureClass;
  error?: string;
  /** Lifeboat can act on its host (stop it, start it). */
  agentReachable: boolean;
  /** The host-side lease: once it has run out, the host has stopped PostgreSQL itself. */
  lease?: { ttlMs: number; renewedAt?: number };
}

export interface ObservedStandby {
  name: string;
  endpoint: Endpoint;
  reachable: boolean;
  error?: string;
  /** pg_is_in_recovery(): false means it is a primary already. */
  inRecovery: boolean;
  /** The primary streamed to it at the last look (null: unknown). */
  streaming: boolean | null;
  /** pg_stat_replication.sync_state at the last look: `sync` means no acknowledged write is missing. */
  syncState: string | null;
  /** WAL bytes the primary had that the standby had not flushed: what a failover loses. */
  lagBytes: number | null;
  /** Seconds of writes at risk (flush lag), 0 when caught up. */
  lagSeconds: number | null;
  /** Epoch ms of the look that measured the lag. */
  lagSampledAt?: number;
}

export interface ObservedRouter {
  kind: string;
  name: string;
  reachable: boolean;
  canBlock: boolean;
  error?: string;
  target?: string;
}

export interface FailoverObserved {
  /** Epoch ms. */
  at: number;
  primary: ObservedPrimary;
  standbys: ObservedStandby[];
  /** null: no router; clients are repointed by someone else. */
  router: ObservedRouter | null;
}

export interface FailoverOptions {
  mode: FailoverMode;
  /** Largest acceptable loss in WAL bytes. Default: no limit (unless rpoSeconds is set). 0 requires a synchronous standby. */
  rpoBytes?: number;
  /** Largest acceptable loss in seconds of writes. Default: no limit. */
  rpoSeconds?: number;
  /** Act although the lag exceeds the RPO, or is unknown, or the primary still answers. Default: false. */
  force?: boolean;
  /**
   * Act although the lag exceeds the RPO or is unknown: lets a caller force past a primary
   * that still answers while still refusing to lose more than the RPO. Default: `force`.
   */
  acceptLoss?: boolean;
  /** Promote this standby. Default: the synchronous one, else the least behind. */
  standby?: string;
  /** Safety margin after a lease runs out before promoting. Default: 500 ms. */
  leaseMarginMs?: number;
  /** Default: 60 s. */
  promoteTimeoutSeconds?: number;
  /** Switchover: how long the standby may take to replay everything. Default: 30 s. */
  catchupTimeoutMs?: number;
  /** Switchover: how long running transactions may take to finish at the router. Default: 5 s. */
  pauseTimeoutMs?: number;
  /** Failover: how to stop the old primary when Lifeboat cannot act on its host. Default: none. */
  fence?: FenceCommand;
}

/** The plan's fence command (STONITH): it stops a primary from outside its host. */
export interface FenceCommand {
  /** A shell command; `{{host}}`, `{{port}}`, `{{target}}` and `{{dataset}}` are filled in when it runs. */
  command: string;
  /** Killed, and the failover stopped, after this long. Default: 30 s. */
  timeoutMs?: number;
  /** Where the plan sets it, for messages: `datasets.users.replication.fence_command`. */
  field: string;
  /** The dataset, for `{{dataset}}`. */
  dataset: string;
}

/**
 * The option that overrides a refusal, in a RefusedError's `details.override`: a dry run
 * shows what the overridden run would do, and says which option it needs.
 */
export type Override = 'force' | 'acceptLoss';

export type FailoverPhase = 'fence' | 'catchup' | 'promote' | 'route' | 'after';

export type FailoverStep =
  | { kind: 'block-router'; router: string; why: string }
  | { kind: 'pause-router'; router: string; timeoutMs: number; why: string }
  | { kind: 'stop-primary'; server: string; mode: 'immediate' | 'fast'; why: string }
  | { kind: 'wait-lease'; server: string; untilEpochMs: number; why: string }
  | {
      kind: 'fence-command';
      server: string;
      /** The command as the plan gives it, run with the server's address filled in. */
      fence: Required<FenceCommand>;
      target: RouteTarget;
      why: string;
    }
  | { kind: 'wait-catchup'; standby: string; timeoutMs: number; why: string }
  | { kind: 'promote'; standby: string; timeoutSeconds: number; why: string }
  | { kind: 'route'; router: string; to: RouteTarget; why: string }
  | { kind: 'fence-on-return'; server: string; why: string };

export interface FailoverPlan {
  mode: FailoverMode;
  primary: string;
  standby: string;
  steps: FailoverStep[];
  /** What the plan accepts: a synchronous standby means no acknowledged write is lost. */
  expectedLoss: { sync: boolean; bytes: number | null; seconds: number | null };
  warnings: string[];
}

export const phaseOf: Record<FailoverStep['kind'], FailoverPhase> = {
  'block-router': 'fence',
  'pause-router': 'fence',
  'stop-primary': 'fence',
  'wait-lease': 'fence',
  'fence-command': 'fence',
  'wait-catchup': 'catchup',
  promote: 'promote',
  route: 'route',
  'fence-on-return': 'after',
};

export function planFailover(observed: FailoverObserved, options: FailoverOptions): FailoverPlan {
  const { primary, router } = observed;
  const force = options.force ?? false;
  const warnings: string[] = [];
  if (options.mode === 'switchover' && !primary.reachable)
    throw new EnvironmentError(
      `switchover needs a running primary, and ${primary.name} is unreachable: ${primary.error ?? primary.failure ?? 'no answer'}`,
      {
        hint: 'A switchover drains the primary first; with the primary gone, run a failover instead.',
      },
    );
  if (options.mode === 'switchover' && !primary.agentReachable)
    throw new EnvironmentError(
      `switchover stops ${primary.name} cleanly, and its host cannot be reached to do it`,
      {
        hint: 'Restore access to the host (its agent or ssh), or run a failover, which fences it another way.',
      },
    );
  const standby = chooseStandby(observed, options);
  if (options.mode === 'failover' && primary.reachable && !force)
    throw new RefusedError(
      `${primary.name} still answers as a primary: failing over now would leave two primaries`,
      {
        hint: 'Run a switchover (planned, no loss), or force the failover if the primary must go although it answers.',
        details: { override: 'force' satisfies Override },
      },
    );
  const expectedLoss = checkLag(standby, options, warnings);
  if (router && !router.reachable)
    throw new EnvironmentError(`the router ${router.name} is unreachable: ${router.error ?? 'no answer'}`, {
      hint: 'Clients could not be moved to the new primary. Bring the router back (or fix its address) and retry; nothing was changed.',
      details: { router: router.name },
    });
  if (!router) warnings.push('no router: clients must be repointed to the new primary by other means');
  else if (!router.canBlock)
    warnings.push(
      `${router.name} cannot cut clients off: until the old primary is stopped, clients may still reach it`,
    );

  const steps: FailoverStep[] =
    options.mode === 'switchover'
      ? switchoverSteps(observed, standby, options)
      : failoverSteps(observed, standby, options, warnings);
  if (router)
    steps.push({
      kind: 'route',
      router: router.name,
      to: { name: standby.name, ...standby.endpoint },
      why: 'send clients to the new primary and release the ones held at the router',
    });
  if (options.mode === 'failover' && !primary.agentReachable && options.fence)
    warnings.push(
      `${primary.name} is stopped by ${options.fence.field}, not marked to start read-only: if its host starts it again it comes back writable; keep it down or rebuild it as a standby`,
    );
  else if (options.mode === 'failover' && !primary.agentReachable)
    steps.push({
      kind: 'fence-on-return',
      server: primary.name,
      why: `${primary.name} could not be stopped: stop it the moment its host answers again, before it takes a write`,
    });
  return { mode: options.mode, primary: primary.name, standby: standby.name, steps, expectedLoss, warnings };
}

function chooseStandby(observed: FailoverObserved, options: FailoverOptions): ObservedStandby {
  const { primary, standbys } = observed;
  if (standbys.length === 0)
    throw new EnvironmentError(`${primary.name} has no standby to ${options.mode} to`, {
      hint: 'Create a streaming standby first (replication.standby in the plan), or recover from a backup with lifeboat restore.',
    });
  if (options.standby !== undefined) {
    const named = standbys.find((s) => s.name === options.standby);
    if (!named)
      throw new UsageError(
        `no standby named "${options.standby}"; known: ${standbys.map((s) => s.name).join(', ')}`,
      );
    return usable(named);
  }
  const candidates = standbys
    .filter((s) => s.reachable && s.inRecovery)
    .sort((a, b) => syncRank(a) - syncRank(b) || (a.lagBytes ?? Infinity) - (b.lagBytes ?? Infinity));
  return usable(candidates[0] ?? standbys[0]!);
}

function syncRank(standby: ObservedStandby): number {
  return standby.syncState === 'sync' ? 0 : 1;
}

function usable(standby: ObservedStandby): ObservedStandby {
  if (!standby.reachable)
    throw new EnvironmentError(`standby ${standby.name} is unreachable: ${standby.error ?? 'no answer'}`, {
      hint: 'Start it (or fix the network to it) and retry; nothing was changed.',
    });
  if (!standby.inRecovery)
    throw new RefusedError(`${standby.name} is not in recovery: it is a primary already`, {
      hint: 'Promoting it again, or routing clients to it beside the old primary, would make two primaries. Check which server clients should use.',
    });
  return standby;
}

/** Refuses when the standby may be missing more than the RPO allows. */
function checkLag(
  standby: ObservedStandby,
  options: FailoverOptions,
  warnings: string[],
): FailoverPlan['expectedLoss'] {
  const sync = standby.syncState === 'sync';
  const expected = { sync, bytes: sync ? 0 : standby.lagBytes, seconds: sync ? 0 : standby.lagSeconds };
  if (options.mode === 'switchover') {
    if (standby.streaming === false)
      throw new EnvironmentError(
        `${standby.name} is not streaming from the primary: it cannot catch up before the switch`,
        {
          hint: "Check the standby's log and primary_conninfo, then retry.",
        },
      );
    return { sync, bytes: 0, seconds: 0 };
  }
  const limited = options.rpoBytes !== undefined || options.rpoSeconds !== undefined;
  if (sync || !limited) return expected;
  const force = options.acceptLoss ?? options.force ?? false;
  const rpo = [
    options.rpoBytes !== undefined ? `${options.rpoBytes} bytes` : undefined,
    options.rpoSeconds !== undefined ? `${options.rpoSeconds} s` : undefined,
  ]
    .filter(Boolean)
    .join(' / ');
  if (options.rpoBytes === 0 && !force)
    throw new RefusedError(
      `an RPO of 0 needs a synchronous standby, and ${standby.name} is ${standby.syncState ?? 'not known to be in sync'}`,
      {
        hint: 'Make it synchronous (replication.mode: sync) before relying on it, or force the failover and accept the loss.',
        details: { override: 'acceptLoss' satisfies Override },
      },
    );
  if (expected.bytes === null || expected.seconds === null) {
    if (!force)
      throw new RefusedError(
        `the lag of ${standby.name} is unknown, so the RPO (${rpo}) cannot be shown to hold`,
        {
          hint: 'Retry once the lag was measured (the monitor samples it while the primary is up), or force the failover.',
          details: { override: 'acceptLoss' satisfies Override },
        },
      );
    warnings.push(`forced: the lag of ${standby.name} is unknown`);
    return expected;
  }
  const over =
    (options.rpoBytes !== undefined && expected.bytes > options.rpoBytes) ||
    (options.rpoSeconds !== undefined && expected.seconds > options.rpoSeconds);
  if (over && !force)
    throw new RefusedError(
      `${standby.name} lags ${expected.bytes} bytes / ${expected.seconds.toFixed(1)} s behind, more than the RPO (${rpo})`,
      {
        hint: 'Wait for it to catch up (lifeboat status shows the lag), or force the failover and accept losing those writes.',
        details: {
          standby: standby.name,
          lagBytes: expected.bytes,
          lagSeconds: expected.seconds,
          override: 'acceptLoss' satisfies Override,
        },
      },
    );
  if (over) warnings.push(`forced: ${standby.name} lags more than the RPO (${rpo}); those writes are lost`);
  return expected;
}

function failoverSteps(
  observed: FailoverObserved,
  standby: ObservedStandby,
  options: FailoverOptions,
  warnings: string[],
): FailoverStep[] {
  const { primary, router } = observed;
  const steps: FailoverStep[] = [];
  if (router?.canBlock)
    steps.push({
      kind: 'block-router',
      router: router.name,
      why: 'cut every client off the old primary and hold new ones before anything is promoted',
    });
  if (primary.agentReachable)
    steps.push({
      kind: 'stop-primary',
      server: primary.name,
      mode: 'immediate',
      why: 'make sure the old primary can never acknowledge another write',
    });
  else if (options.fence) steps.push(fenceCommandStep(primary, options.fence));
  else if (primary.lease?.renewedAt !== undefined)
    steps.push({
      kind: 'wait-lease',
      server: primary.name,
      untilEpochMs: primary.lease.renewedAt + primary.lease.ttlMs + (options.leaseMarginMs ?? 500),
      why: "its host is unreachable: wait until the host's own lease has stopped it",
    });
  else
    warnings.push(
      `${primary.name} cannot be stopped (its host is unreachable and it has no lease): it is fenced by the router only until it returns`,
    );
  steps.push({
    kind: 'promote',
    standby: standby.name,
    timeoutSeconds: options.promoteTimeoutSeconds ?? 60,
    why: 'replay what it received, then take writes',
  });
  return steps;
}

/**
 * STONITH, as Pacemaker does it: the command must confirm the old primary is down (exit 0)
 * before anything is promoted; a failure or a timeout stops the failover. Preferred to a
 * lease: it confirms at once, where a lease makes the failover wait out its TTL.
 */
function fenceCommandStep(primary: ObservedPrimary, fence: FenceCommand): FailoverStep {
  const timeoutMs = fence.timeoutMs ?? 30_000;
  return {
    kind: 'fence-command',
    server: primary.name,
    fence: { ...fence, timeoutMs },
    target: { name: primary.name, ...primary.endpoint },
    why: `Lifeboat cannot stop ${primary.name} on its host (no source.data_dir, or the host does not answer): run ${fence.field}, and promote nothing unless it exits 0 within ${timeoutMs / 1000}s`,
  };
}

function switchoverSteps(
  observed: FailoverObserved,
  standby: ObservedStandby,
  options: FailoverOptions,
): FailoverStep[] {
  const { primary, router } = observed;
  const steps: FailoverStep[] = [];
  if (router)
    steps.push({
      kind: 'pause-router',
      router: router.name,
      timeoutMs: options.pauseTimeoutMs ?? 5000,
      why: 'let running transactions finish, then hold new ones: the primary stops taking writes',
    });
  steps.push({
    kind: 'wait-catchup',
    standby: standby.name,
    timeoutMs: options.catchupTimeoutMs ?? 30_000,
    why: 'the standby replays everything the primary wrote: nothing is lost',
  });
  steps.push({
    kind: 'stop-primary',
    server: primary.name,
    mode: 'fast',
    why: 'a clean stop sends the last WAL to the standby and takes no more writes',
  });
  steps.push({
    kind: 'promote',
    standby: standby.name,
    timeoutSeconds: options.promoteTimeoutSeconds ?? 60,
    why: 'the standby becomes the primary',
  });
  return steps;
}
