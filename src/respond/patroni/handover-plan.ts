/**
 * planPatroniHandover: which member takes over in a Patroni cluster, decided from GET /cluster
 * with no I/O. It refuses (throws RefusedError, nothing changed) when there is nothing safe to
 * hand over to; each message names the members and says what to do. patroniHandover
 * (handover.ts) asks Patroni to carry it out.
 */
import { RefusedError } from '../../errors.js';
import type { PatroniCluster, PatroniMember } from './client.js';

export type PatroniHandoverMode = 'failover' | 'switchover';

export interface PatroniHandoverPlanOptions {
  mode: PatroniHandoverMode;
  /** The member to promote. Default: the synchronous standby, else the healthy replica with the least lag. */
  candidate?: string;
  /** Refuse a candidate further behind the leader than this (WAL bytes). Default: 1048576, Patroni's own maximum_lag_on_failover. */
  maxLagBytes?: number;
}

export interface PatroniHandoverPlan {
  mode: PatroniHandoverMode;
  /** The current leader; null when the cluster has none (only a failover can act then). */
  leader: PatroniMember | null;
  candidate: PatroniMember;
  /** How far the candidate was behind the leader when the plan was made. */
  lagBytes: number;
  /** Why this candidate, for the progress line and the dry run. */
  reason: string;
}

export const defaultMaxLagBytes = 1_048_576;

/** Patroni 3.0 says `running` for a streaming replica; later versions say `streaming`. */
const healthyStates = new Set(['running', 'streaming']);

export function isLeader(member: PatroniMember): boolean {
  return member.role === 'leader' || member.role === 'standby_leader';
}

/** Can take over: PostgreSQL up and following, and not tagged out of failover. */
export function isHealthyReplica(member: PatroniMember): boolean {
  return !isLeader(member) && healthyStates.has(member.state) && member.tags.nofailover !== true;
}

export function planPatroniHandover(
  cluster: PatroniCluster,
  options: PatroniHandoverPlanOptions,
): PatroniHandoverPlan {
  const maxLag = options.maxLagBytes ?? defaultMaxLagBytes;
  const leader = cluster.members.find(isLeader) ?? null;
  const now = `The cluster now: ${describeMembers(cluster.members)}.`;

  if (options.mode === 'switchover' && (!leader || !healthyStates.has(leader.state))) {
    throw new RefusedError(
      leader
        ? `switchover refused: the leader ${leader.name} is ${leader.state || 'in an unknown state'}, not running`
        : 'switchover refused: the cluster has no leader to hand over from',
      {
        hint: `A switchover needs a running leader that shuts down cleanly. ${now} If the leader is lost, ask for a failover instead.`,
        details: { members: cluster.members },
      },
    );
  }

  const { candidate, reason } = options.candidate
    ? namedCandidate(cluster, options.candidate, options.mode, now)
    : chosenCandidate(cluster, now);

  if (candidate.lagBytes === null || candidate.lagBytes === undefined) {
    throw new RefusedError(`${options.mode} refused: Patroni does not know how far ${candidate.name} lags`, {
      hint: `Promoting it could lose an unknown amount of data; wait until it reports its position, or check its replication. ${now}`,
      details: { candidate: candidate.name },
    });
  }
  if (candidate.lagBytes > maxLag) {
    throw new RefusedError(
      `${options.mode} refused: ${candidate.name} is ${candidate.lagBytes} bytes behind the leader, more than the limit of ${maxLag}`,
      {
        hint: `Promoting it now would lose those writes (or, for a switchover, keep clients waiting while it catches up). Wait until it catches up, name another candidate, or raise the limit. ${now}`,
        details: { candidate: candidate.name, lagBytes: candidate.lagBytes, maxLagBytes: maxLag },
      },
    );
  }

  return { mode: options.mode, leader, candidate, lagBytes: candidate.lagBytes, reason };
}

function namedCandidate(
  cluster: PatroniCluster,
  name: string,
  mode: PatroniHandoverMode,
  now: string,
): { candidate: PatroniMember; reason: string } {
  const candidate = cluster.members.find((m) => m.name === name);
  if (!candidate) {
    const known = cluster.members.map((m) => m.name);
    throw new RefusedError(
      `${mode} refused: the cluster has no member named "${name}"; its members are ${known.join(', ') || 'none'}`,
      { hint: `Name one of: ${known.join(', ')}.`, details: { candidate: name, members: known } },
    );
  }
  if (isLeader(candidate)) {
    throw new RefusedError(`${mode} refused: ${name} is the leader already`, {
      hint: `Nothing to do. ${now}`,
      details: { candidate: name },
    });
  }
  if (!isHealthyReplica(candidate)) {
    throw new RefusedError(`${mode} refused: ${name} cannot take over (${unhealthyReason(candidate)})`, {
      hint: `Name a healthy replica, or repair ${name} first. ${now}`,
      details: { candidate: name, state: candidate.state },
    });
  }
  // Patroni refuses this too; saying it here explains why.
  const syncStandbys = cluster.members.filter((m) => m.role === 'sync_standby').map((m) => m.name);
  if (mode === 'switchover' && syncStandbys.length > 0 && candidate.role !== 'sync_standby') {
    throw new RefusedError(
      `switchover refused: the cluster is in synchronous mode and ${name} is not its synchronous standby`,
      {
        hint: `Patroni switches over only to a synchronous standby (${syncStandbys.join(', ')}), which has every acknowledged write; name it, or ask for a failover to ${name} if losing writes is acceptable. ${now}`,
        details: { candidate: name, syncStandbys },
      },
    );
  }
  return { candidate, reason: 'named' };
}

function chosenCandidate(cluster: PatroniCluster, now: string): { candidate: PatroniMember; reason: string } {
  const healthy = cluster.members.filter(isHealthyReplica);
  const byLag = (a: PatroniMember, b: PatroniMember) => lagOrder(a) - lagOrder(b);
  const sync = healthy.filter((m) => m.role === 'sync_standby').sort(byLag)[0];
  if (sync) return { candidate: sync, reason: 'the synchronous standby' };
  const least = [...healthy].sort(byLag)[0];
  if (least) return { candidate: least, reason: 'the healthy replica with the least lag' };
  throw new RefusedError('no healthy replica to hand over to', {
    hint: `Each replica must be running, following the leader and not tagged nofailover. ${now}`,
    details: { members: cluster.members },
  });
}

function lagOrder(member: PatroniMember): number {
  return typeof member.lagBytes === 'number' ? member.lagBytes : Number.POSITIVE_INFINITY;
}

function unhealthyReason(member: PatroniMember): string {
  if (member.tags.nofailover === true) return 'it is tagged nofailover';
  return `its PostgreSQL is ${member.state || 'in an unknown state'}`;
}

/** One line per cluster, for messages: `node0 leader running (timeline 2), node1 replica running lag 0 B`. */
export function describeMembers(members: PatroniMember[]): string {
  if (members.length === 0) return 'no members';
  return members
    .map((m) => {
      const parts = [m.name, m.role, m.state || 'state unknown'];
      if (m.lagBytes !== undefined) parts.push(m.lagBytes === null ? 'lag unknown' : `lag ${m.lagBytes} B`);
      if (m.timeline !== undefined) parts.push(`timeline ${m.timeline}`);
      return parts.join(' ');
    })
    .join('; ');
}
