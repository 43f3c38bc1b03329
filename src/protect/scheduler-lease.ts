/**
 * One scheduler per plan and state store: two would back up, verify and prune the same
 * datasets side by side (duplicated verifications, prunes failing on each other's locks).
 * The scheduler holds a lease row in the state store, so it works across hosts on a shared
 * PostgreSQL store as well as on SQLite. The holder renews it every quarter of its time to
 * live; a holder that stops renewing (crashed, host down, SIGKILL) loses it when it expires,
 * and at once when it was a process of this host that no longer runs.
 */
import { hostname } from 'node:os';
import { RefusedError } from '../errors.js';
import { isStale } from '../engines/restic/lock.js';
import { processStartTime } from '../system/process.js';
import type { Plan } from '../plan/schema.js';
import type { LeaseRecord, StateStore } from '../state/store.js';
import { slug } from './tags.js';

/** How long a lease holds without a renewal. */
export const SCHEDULER_LEASE_TTL_MS = 60_000;

/** The lease of the plan's scheduler: the state store's records are keyed by the plan's organization. */
export function schedulerLeaseName(plan: Plan): string {
  return `scheduler:${slug(plan.organization)}`;
}

export interface HeldLease {
  readonly lease: LeaseRecord;
  /** Stops renewing and frees the lease. Idempotent. */
  release(): Promise<void>;
}

export interface LeaseOptions {
  name: string;
  /** What holds it, for whoever is refused: `lifeboat run --plan …`. */
  description: string;
  ttlMs?: number;
  /** Called once if the lease is lost (not renewed in time and taken): the holder must stop. */
  onLost(reason: string): void;
}

/** A holder of this host whose process is gone (or whose pid was reused): its lease is free. */
export function leaseAbandoned(holder: LeaseRecord): boolean {
  return isStale({
    pid: holder.pid,
    hostname: holder.hostname,
    ...(holder.processStart === null ? {} : { processStart: holder.processStart }),
    key: holder.name,
    token: holder.token,
    acquiredAt: holder.acquiredAt,
  });
}

/** Takes the lease and keeps it renewed, or throws a RefusedError naming who holds it. */
export async function acquireLease(state: StateStore, options: LeaseOptions): Promise<HeldLease> {
  const ttlMs = options.ttlMs ?? SCHEDULER_LEASE_TTL_MS;
  const result = await state.acquireLease(
    {
      name: options.name,
      hostname: hostname(),
      pid: process.pid,
      // Kept as text in the state store.
      processStart: processStartTime(process.pid)?.toString() ?? null,
      description: options.description,
      ttlMs,
    },
    leaseAbandoned,
  );
  if (!result.acquired) throw refusal(result.holder);
  let lease = result.lease;
  let lost = false;
  const renew = async () => {
    try {
      const renewed = await state.renewLease(lease.name, lease.token, ttlMs);
      if (renewed) lease = renewed;
      else lose('another process took it over after it expired');
    } catch (error) {
      // The state store is unreachable for a moment: the lease holds until it expires.
      if (Date.now() > Date.parse(lease.expiresAt))
        lose(`it could not be renewed before it expired: ${(error as Error).message}`);
    }
  };
  const lose = (why: string) => {
    if (lost) return;
    lost = true;
    clearInterval(timer);
    options.onLost(`lost the lease ${lease.name}: ${why}`);
  };
  const timer = setInterval(() => void renew(), Math.max(ttlMs / 4, 10));
  timer.unref();
  let released: Promise<void> | undefined;
  return {
    get lease() {
      return lease;
    },
    release: () =>
      (released ??= (async () => {
        clearInterval(timer);
        if (!lost) await state.releaseLease(lease.name, lease.token);
      })()),
  };
}

function refusal(holder: LeaseRecord): RefusedError {
  const who = `${holder.description} (pid ${holder.pid} on host ${holder.hostname}, since ${holder.acquiredAt})`;
  return new RefusedError(`another scheduler already runs this plan: ${who}`, {
    hint:
      `run one scheduler per plan: stop that one first (kill ${holder.pid} on ${holder.hostname}), or leave it running; ` +
      `if it has died, its lease expires at ${holder.expiresAt} (last renewed ${holder.renewedAt}) and this command can then start`,
    details: {
      lease: holder.name,
      holder: {
        hostname: holder.hostname,
        pid: holder.pid,
        description: holder.description,
        since: holder.acquiredAt,
        renewedAt: holder.renewedAt,
        expiresAt: holder.expiresAt,
      },
    },
  });
}
