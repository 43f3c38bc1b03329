/**
 * patroniHandover: a switchover or failover of a Patroni-managed PostgreSQL cluster. Patroni
 * owns the cluster (its leader lock in the DCS decides who is primary), so Lifeboat never
 * promotes by itself: it reads the cluster, picks and checks the candidate
 * (planPatroniHandover), asks Patroni, and measures until the candidate leads and accepts writes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvironmentError, LifeboatError, OperationError } from '../../errors.js';
import { patroniClient, type HandoverAnswer, type PatroniClient, type PatroniMember } from './client.js';
import {
  describeMembers,
  isLeader,
  planPatroniHandover,
  type PatroniHandoverMode,
  type PatroniHandoverPlan,
} from './handover-plan.js';

export interface PatroniHandoverResult {
  mode: PatroniHandoverMode;
  /** The leader before; null when a failover found none. */
  oldLeader: string | null;
  /** The member that leads now (in a dry run: the one that would). */
  newLeader: string;
  /** From the request to Patroni until the new leader accepted writes; 0 in a dry run. */
  seconds: number;
  /** How far the new leader was behind the old one when Lifeboat asked. */
  lagBytesBefore: number;
  /** The cluster after the handover (in a dry run: as it was read). */
  members: PatroniMember[];
  dryRun: boolean;
}

const defaultTimeoutMs = 120_000;
const pollIntervalMs = 250;

/**
 * Refuses (RefusedError, nothing changed) when no member can safely take over; fails with
 * EnvironmentError when Patroni is unreachable or refuses, OperationError when the handover
 * does not complete within the timeout (saying where the cluster was left).
 */
export async function patroniHandover(options: {
  /** A Patroni member's REST API, e.g. `http://10.0.0.1:8008`. */
  url: string;
  mode: 'failover' | 'switchover';
  /** Default: the synchronous standby, else the healthy replica with the least lag. */
  candidate?: string;
  /** Decide and report, change nothing. Default: false. */
  dryRun?: boolean;
  /** Refuse a candidate further behind than this many WAL bytes. Default: 1048576 (1 MiB). */
  maxLagBytes?: number;
  /** For the whole handover, from reading the cluster to the new leader accepting writes. Default: 120000 ms. */
  timeoutMs?: number;
  /** Stops waiting; what Patroni was asked to do it still does. Default: none. */
  signal?: AbortSignal;
  /** One line per step, for a terminal. Default: silent. */
  onProgress?(line: string): void;
}): Promise<PatroniHandoverResult> {
  const deadline = Date.now() + (options.timeoutMs ?? defaultTimeoutMs);
  const say = (line: string) => options.onProgress?.(line);
  const client = patroniClient(options.url, options.signal ? { signal: options.signal } : {});

  say(`reading the cluster from ${client.url}`);
  const before = await client.cluster();
  const plan = planPatroniHandover(before, {
    mode: options.mode,
    ...(options.candidate !== undefined ? { candidate: options.candidate } : {}),
    ...(options.maxLagBytes !== undefined ? { maxLagBytes: options.maxLagBytes } : {}),
  });
  const from = plan.leader?.name ?? null;
  say(
    `${plan.candidate.name} (${plan.reason}, ${plan.lagBytes} bytes behind) will take over` +
      (from ? ` from ${from}` : ' (the cluster has no leader)'),
  );
  const result = (members: PatroniMember[], seconds: number, dryRun: boolean): PatroniHandoverResult => ({
    mode: plan.mode,
    oldLeader: from,
    newLeader: plan.candidate.name,
    seconds,
    lagBytesBefore: plan.lagBytes,
    members,
    dryRun,
  });
  if (options.dryRun) {
    say(`dry run: Patroni was not asked to ${plan.mode}`);
    return result(before.members, 0, true);
  }
  if (options.signal?.aborted) {
    throw new OperationError(
      `the ${plan.mode} was interrupted before Lifeboat asked Patroni; nothing changed`,
    );
  }

  // For polling and for saying where the cluster was left, also after an interruption: no
  // signal, short deadlines.
  const apis = [patroniClient(options.url, { timeoutMs: 2000 }), ...memberClients(before.members, client)];
  const asked = performance.now();
  say(`asking Patroni for a ${plan.mode}${from ? ` from ${from}` : ''} to ${plan.candidate.name}`);
  const answer = await askPatroni(client, plan, deadline, options.signal, () => whereLeft(apis));
  say(`Patroni: ${answer.text.trim() || `HTTP ${answer.status}`}`);
  if (answer.status === 503 && /failed/i.test(answer.text)) {
    throw new OperationError(
      `Patroni could not ${plan.mode} to ${plan.candidate.name}: "${answer.text.trim()}"`,
      {
        hint: `${await whereLeft(apis)} Patroni's log on ${plan.candidate.name} says why.`,
      },
    );
  }
  if (/instead of/i.test(answer.text)) {
    throw new OperationError(`Patroni handed over to another member: "${answer.text.trim()}"`, {
      hint: await whereLeft(apis),
    });
  }

  const members = await waitForLeader(apis, plan, deadline, options.signal);
  const seconds = (performance.now() - asked) / 1000;
  say(`${plan.candidate.name} leads and accepts writes, ${seconds.toFixed(1)} s after the request`);
  return result(members, seconds, false);
}

async function askPatroni(
  client: PatroniClient,
  plan: PatroniHandoverPlan,
  deadline: number,
  signal: AbortSignal | undefined,
  left: () => Promise<string>,
): Promise<HandoverAnswer> {
  const candidate = plan.candidate.name;
  try {
    return plan.mode === 'switchover'
      ? await client.switchover({ leader: plan.leader!.name, candidate }, remaining(deadline))
      : await client.failover({ candidate }, remaining(deadline));
  } catch (error) {
    if (signal?.aborted) {
      throw new OperationError(
        `stopped waiting for Patroni's answer; it may still ${plan.mode} to ${candidate}`,
        {
          hint: `${await left()} Check with: patronictl list.`,
          cause: error,
        },
      );
    }
    // Patroni answers only once the handover is done, so a timeout here says nothing about
    // whether it happened: report where the cluster is.
    if (error instanceof EnvironmentError && Date.now() >= deadline) {
      throw new OperationError(`the ${plan.mode} to ${candidate} did not complete in time`, {
        hint: await left(),
        cause: error,
      });
    }
    throw error;
  }
}

/** Polls /cluster until the candidate leads and runs, and its own API says it is a writable primary. */
async function waitForLeader(
  apis: PatroniClient[],
  plan: PatroniHandoverPlan,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<PatroniMember[]> {
  const name = plan.candidate.name;
  let last: PatroniMember[] | undefined;
  for (;;) {
    last = (await readAny(apis))?.members ?? last;
    const leader = last?.find((m) => isLeader(m) && m.name === name && m.state === 'running');
    // Patroni takes the leader lock before PostgreSQL has left recovery: /primary is 200
    // only once it has.
    if (leader && (await isPrimary(apis, leader))) return last!;
    const other = last?.find((m) => isLeader(m) && m.name !== name && m.name !== plan.leader?.name);
    if (other) {
      throw new OperationError(`${other.name} took the lead instead of ${name}`, {
        hint: `The cluster now: ${describeMembers(last!)}.`,
      });
    }
    if (signal?.aborted || Date.now() >= deadline) {
      const now = last ? `The cluster now: ${describeMembers(last)}.` : 'No member of the cluster answers.';
      throw new OperationError(
        signal?.aborted
          ? `stopped waiting for ${name} to lead; Patroni carries on with the ${plan.mode}`
          : `${name} did not lead within the timeout after the ${plan.mode} request`,
        { hint: `${now} Check with: patronictl list; Patroni's log on ${name} says more.` },
      );
    }
    await sleep(pollIntervalMs);
  }
}

async function isPrimary(apis: PatroniClient[], leader: PatroniMember): Promise<boolean> {
  const own = apis.find((api) => leader.apiUrl !== undefined && api.url === leader.apiUrl);
  if (!own) return true; // No API of its own to ask: the cluster's word will do.
  return own.check('primary').catch(() => false);
}

/** The first answer from any member: the one Lifeboat was pointed at may be the one going down. */
async function readAny(apis: PatroniClient[]) {
  for (const api of apis) {
    try {
      return await api.cluster();
    } catch (error) {
      // A member that does not answer is expected mid-handover: ask the next.
      if (!(error instanceof LifeboatError)) throw error;
    }
  }
  return undefined;
}

async function whereLeft(apis: PatroniClient[]): Promise<string> {
  const cluster = await readAny(apis);
  return cluster
    ? `The cluster now: ${describeMembers(cluster.members)}.`
    : 'No member of the cluster answers its REST API now.';
}

function memberClients(members: PatroniMember[], given: PatroniClient): PatroniClient[] {
  const urls = new Set(members.map((m) => m.apiUrl).filter((u): u is string => !!u && u !== given.url));
  return [...urls].map((url) => patroniClient(url, { timeoutMs: 2000 }));
}

function remaining(deadline: number): number {
  return Math.max(1000, deadline - Date.now());
}
