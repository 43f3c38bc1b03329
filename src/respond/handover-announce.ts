/**
 * The handover announcement: a failover or switchover of a dataset says, before it changes
 * anything, that it is under way, and at the end what came of it and which server is the
 * primary now. `lifeboat watch` reads it so that a planned handover is not taken for a loss,
 * and so that it follows the new primary. One small private file per dataset in the
 * Lifeboat home (0600 in a 0700 directory): every process of the plan on this host sees it,
 * and it outlives a crash of its writer, which is then recognised by its pid and process
 * start (or by the deadline, for a writer that hangs or runs on another host).
 *
 * Taking it is atomic (written under a unique name, then hard-linked into place, which fails
 * when a record is there): of two handovers of one dataset, only one goes on.
 */
import { randomUUID } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RefusedError } from '../errors.js';
import { ensurePrivateDir } from '../state/private-files.js';
import { processStartTime, sameProcessRuns } from '../system/process.js';
import type { FailoverPlan } from './failover/failover-plan.js';

/** How a handover ended: `done` (newPrimary serves), `unchanged` (nothing was changed), `failed` (stopped half-way). */
export type HandoverEnd = 'done' | 'unchanged' | 'failed';

export interface ServerRef {
  name: string;
  /** Its URL without the password. */
  url: string;
}

export interface HandoverRecord {
  token: string;
  dataset: string;
  /** What runs it, for people: `lifeboat switchover`, `lifeboat watch`. */
  command: string;
  mode: 'failover' | 'switchover' | 'restart';
  pid: number;
  /** Clock ticks since boot; null off Linux. */
  processStart: number | null;
  hostname: string;
  startedAt: string;
  /** After this it is taken for abandoned, even when its process still runs. */
  deadline: string;
  /** The primary it hands over. */
  from: ServerRef;
  state: 'running' | HandoverEnd;
  endedAt?: string;
  /** Set when it ended `done`: the server clients now use. */
  newPrimary?: ServerRef;
  error?: string;
}

export type AnnouncementLook =
  | { kind: 'none' }
  | { kind: 'running'; record: HandoverRecord }
  | { kind: 'stale'; record: HandoverRecord; why: string }
  | { kind: 'ended'; record: HandoverRecord };

export function announcementFile(homeDir: string, dataset: string): string {
  return join(homeDir, 'handovers', `${dataset}.json`);
}

/** What the record of `dataset` says now; a record that cannot be parsed is taken for none. */
export function lookAtAnnouncement(homeDir: string, dataset: string, now = Date.now()): AnnouncementLook {
  const record = readRecord(announcementFile(homeDir, dataset));
  if (!record) return { kind: 'none' };
  if (record.state !== 'running') return { kind: 'ended', record };
  const why = staleness(record, now);
  return why === undefined ? { kind: 'running', record } : { kind: 'stale', record, why };
}

/** Why a running record no longer holds, or undefined while it does. */
function staleness(record: HandoverRecord, now: number): string | undefined {
  if (record.hostname === hostname() && !sameProcessRuns(record.pid, record.processStart ?? undefined))
    return `its process (pid ${record.pid}) no longer runs`;
  if (now > Date.parse(record.deadline)) return `it overran its deadline (${record.deadline})`;
  return undefined;
}

/** Who runs a handover, in a line: `lifeboat switchover (pid 123 on db1, since ...)`. */
export function describeHandover(record: HandoverRecord): string {
  return `${record.command} (pid ${record.pid} on ${record.hostname}, since ${record.startedAt})`;
}

export interface Announcement {
  readonly record: HandoverRecord;
  /** The record this one replaced: an earlier handover that had ended, or a stale one. */
  readonly previous: HandoverRecord | undefined;
  /** Records the outcome; later calls change nothing. */
  end(state: HandoverEnd, details?: { newPrimary?: ServerRef; error?: string }): void;
}

export interface AnnounceInput {
  homeDir: string;
  dataset: string;
  command: string;
  mode: HandoverRecord['mode'];
  from: ServerRef;
  /** How long the handover may take before others stop waiting for it. */
  budgetMs: number;
}

/**
 * Announces a handover, or throws a RefusedError naming the one already under way. An ended
 * or stale record is replaced; one that another process replaced meanwhile is put back.
 */
export function announceHandover(input: AnnounceInput): Announcement {
  const file = announcementFile(input.homeDir, input.dataset);
  ensurePrivateDir(join(input.homeDir, 'handovers'));
  const now = Date.now();
  const record: HandoverRecord = {
    token: randomUUID(),
    dataset: input.dataset,
    command: input.command,
    mode: input.mode,
    pid: process.pid,
    processStart: processStartTime(process.pid) ?? null,
    hostname: hostname(),
    startedAt: new Date(now).toISOString(),
    deadline: new Date(now + input.budgetMs).toISOString(),
    from: input.from,
    state: 'running',
  };
  let previous: HandoverRecord | undefined;
  for (let attempt = 0; ; attempt++) {
    const temp = `${file}.${record.token}`;
    writeFileSync(temp, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
    try {
      linkSync(temp, file);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 10) throw error;
    } finally {
      unlinkSync(temp);
    }
    const look = lookAtAnnouncement(input.homeDir, input.dataset);
    if (look.kind === 'running')
      throw new RefusedError(
        `a ${look.record.mode} of ${input.dataset} is already under way: ${describeHandover(look.record)}`,
        {
          hint: `Wait until it ends (lifeboat watch reports it), or, if that process is stuck, stop it; a record it left behind is ignored after ${look.record.deadline}. Nothing was changed.`,
          details: { holder: look.record },
        },
      );
    if (look.kind !== 'none') previous = moveAside(file, look.record) ?? previous;
  }
  let ended = false;
  return {
    record,
    previous,
    end(state, details = {}) {
      if (ended) return;
      ended = true;
      const current = readRecord(file);
      // Past its deadline another handover may have replaced it: that one's record stays.
      if (current?.token !== record.token) return;
      const final: HandoverRecord = { ...record, state, endedAt: new Date().toISOString(), ...details };
      const temp = `${file}.${record.token}`;
      writeFileSync(temp, JSON.stringify(final, null, 2) + '\n', { mode: 0o600 });
      renameSync(temp, file);
    },
  };
}

/**
 * Removes the record we judged replaceable. Renaming is atomic: of two processes that both
 * judged it so, one moves it; a record that turns out to be another's new one is put back.
 */
function moveAside(file: string, judged: HandoverRecord): HandoverRecord | undefined {
  const aside = `${file}.aside-${randomUUID()}`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const moved = readRecord(aside);
  try {
    if (moved?.token !== judged.token) {
      try {
        linkSync(aside, file);
      } catch {
        // Yet another record took its place: that one stands.
      }
      return undefined;
    }
    return moved;
  } finally {
    unlinkSync(aside);
  }
}

function readRecord(file: string): HandoverRecord | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<HandoverRecord>;
    return typeof parsed.token === 'string' && typeof parsed.state === 'string'
      ? (parsed as HandoverRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A URL as the record keeps it: no password (the readers know the servers' own URLs). */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url;
  }
}

/**
 * How long a handover of `plan` may take before others stop waiting for it: each step's own
 * timeout (a clean stop waits up to 60 s, a fence a few), and a minute for the rest.
 */
export function handoverBudgetMs(plan: FailoverPlan, now = Date.now()): number {
  let ms = 60_000;
  for (const step of plan.steps)
    switch (step.kind) {
      case 'pause-router':
      case 'wait-catchup':
        ms += step.timeoutMs;
        break;
      case 'promote':
        ms += step.timeoutSeconds * 1000;
        break;
      case 'wait-lease':
        ms += Math.max(0, step.untilEpochMs - now);
        break;
      case 'stop-primary':
        ms += step.mode === 'fast' ? 60_000 : 10_000;
        break;
      case 'fence-command':
        ms += step.fence.timeoutMs;
        break;
      case 'block-router':
      case 'route':
      case 'fence-on-return':
        ms += 10_000;
        break;
    }
  return ms;
}
