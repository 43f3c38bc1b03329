/**
 * For the ledger failover tests: a primary with a synchronous standby and pgbouncer in
 * front, watched by `lifeboat watch` in a child process as a user runs it; a writer through
 * pgbouncer whose acknowledgements are the ledger; the faults; and a checker that reads both
 * servers itself and compares them with the ledger. Nothing here trusts what the watch or
 * the drill measure: the ledger and the servers' own rows are the evidence.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWriter, type Ack, type Writer } from '../../../drill/failover-writer.js';
import { query } from '../../../stores/postgres/sql.js';
import { pollUntil } from '../../../system/poll.js';
import { descendantPids, livePostmasterPid, processAlive } from '../../../system/process.js';
import { BIN } from '../../../cli/testing/run-cli.js';
import { writeTestPlan, type TestPlan } from '../../../cli/testing/failover.js';
import { isRunning } from '../server.js';
import { startTestCluster, type TestCluster } from './cluster.js';

/** The table testing/cluster.ts creates on the primary. */
const table = 'writes';

export interface Watcher {
  child: ChildProcess;
  events: Record<string, unknown>[];
  stderr: string[];
  /** The first event of that kind; throws after `timeoutMs` or once the watch has exited. */
  next(kind: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Ends the watch (SIGTERM, then SIGKILL if it is still there 5 s later). */
  stop(): Promise<void>;
}

/** `lifeboat watch --json` on `plan`, in a child process: what runs on a real host. */
export function startWatcher(plan: TestPlan): Watcher {
  const child = spawn(process.execPath, [BIN, 'watch', '--json', '--plan', plan.file], {
    env: { ...process.env, LIFEBOAT_HOME: join(dirname(plan.file), '.lifeboat') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      stderr.push(`(not JSON) ${line}`);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const next = async (kind: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = events.find((e) => e.event === kind);
      if (found) return found;
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`no ${kind} event; got ${JSON.stringify(events)}; stderr: ${stderr.join('')}`);
      await sleep(50);
    }
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await closed;
    clearTimeout(timer);
  };
  return { child, events, stderr, next, stop };
}

export interface WatchedCluster {
  cluster: TestCluster;
  plan: TestPlan;
  watcher: Watcher;
  /** The ledger: every write pgbouncer's clients were told had committed. */
  writer: Writer;
  oldPort: number;
  newPort: number;
  stop(): Promise<void>;
}

/**
 * A synchronous standby (RPO 0), pgbouncer at the settings the README's failover section asks
 * for (testing/cluster.ts starts it through route-pgbouncer.ts's own ini), `lifeboat watch`
 * with a scenario that fails over automatically after `detect_after` at its default, and the
 * writer running through pgbouncer. Resolves once the watch watches and the writer has
 * written for `warmupMs`.
 */
export async function startWatchedCluster(options: { warmupMs?: number } = {}): Promise<WatchedCluster> {
  const cluster = await startTestCluster({ sync: true, bouncer: true });
  let plan: TestPlan | undefined;
  let watcher: Watcher | undefined;
  let writer: Writer | undefined;
  const stop = async () => {
    await writer?.stop().catch(() => undefined);
    await watcher?.stop().catch(() => undefined);
    plan?.remove();
    await cluster.stop();
  };
  try {
    plan = writeTestPlan({
      primaryUrl: cluster.primary.url,
      primaryDataDir: cluster.pg.dataDir,
      standbyUrl: cluster.standby.server.url,
      standbyDataDir: cluster.standby.instance.dataDir,
      bouncer: { iniPath: cluster.bouncer!.iniPath, adminPort: cluster.bouncer!.port },
      rpo: '0s',
      // No detect_after: the default (3s) is what a user gets.
      replication: 'mode: sync',
    });
    appendFileSync(plan.file, automaticScenario);
    watcher = startWatcher(plan);
    await watcher.next('watching');
    writer = startWriter(cluster.bouncer!.url, table);
    const oldPort = cluster.pg.port;
    await writer.waitForAck((a) => a.port === oldPort, 10_000);
    await sleep(options.warmupMs ?? 1000);
    if (!writer.acks.some((a) => a.port === oldPort))
      throw new Error(`the writer had no acknowledgement through pgbouncer before the fault`);
    return {
      cluster,
      plan,
      watcher,
      writer,
      oldPort,
      newPort: cluster.standby.instance.port,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

const automaticScenario = [
  'probes:',
  '  users-db: { type: postgres, dataset: users }',
  'runbooks:',
  '  promote-standby:',
  '    steps:',
  '      - failover: { dataset: users }',
  'scenarios:',
  '  primary-lost: { detect: [users-db], decision: automatic, runbooks: [promote-standby] }',
  '',
].join('\n');

/** The postmaster of `dataDir` and every process under it, as they are now. */
export function postgresTree(dataDir: string): number[] {
  const postmaster = livePostmasterPid(dataDir);
  if (postmaster === undefined) throw new Error(`no postmaster runs ${dataDir}`);
  return [postmaster, ...descendantPids(postmaster)];
}

/** Sends `signal` to each pid still alive; returns those it reached. */
export function signalEach(pids: readonly number[], signal: NodeJS.Signals): number[] {
  return pids.filter((pid) => {
    if (!processAlive(pid)) return false;
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  });
}

export interface PromotionWatch {
  /** Epoch ms of the first direct answer `pg_is_in_recovery() = false`; undefined until then. */
  readonly promotedAt: number | undefined;
  stop(): void;
}

/**
 * Asks the standby directly, every 20 ms, whether it is out of recovery. The first answer
 * says "by now it was promoted": an upper bound on the moment, so an old primary's
 * acknowledgement after it is certainly after the promotion.
 */
export function watchPromotion(url: string): PromotionWatch {
  let promotedAt: number | undefined;
  let stopped = false;
  void (async () => {
    while (!stopped && promotedAt === undefined) {
      const asked = await query(url, 'SELECT pg_is_in_recovery() AS r', { timeoutMs: 1000 }).catch(
        () => undefined,
      );
      if (asked?.[0]?.r === false) promotedAt = Date.now();
      else await sleep(20);
    }
  })();
  return {
    get promotedAt() {
      return promotedAt;
    },
    stop: () => {
      stopped = true;
    },
  };
}

/** The rows of both servers, read directly, and the ledger's account of them. */
export interface LedgerCheck {
  acknowledged: number;
  acknowledgedByOld: number;
  acknowledgedByNew: number;
  /** Acknowledged, and not on the new primary. */
  lost: number[];
  /**
   * Acknowledged by the old primary after the new one was seen promoted, or after the new one
   * had acknowledged a write already (the writer is serial: ids are in time order).
   */
  oldAfterPromotion: number[];
  /** Acknowledged by a server that does not have the row: the ledger and the servers disagree. */
  notWhereAcknowledged: number[];
  /** Rows on the old primary only: never acknowledged (else they are in `lost`), the in-flight tail. */
  onOldOnly: number;
  /** From the fault to the first write the new primary acknowledged through pgbouncer. */
  rtoSeconds: number | undefined;
}

export interface LedgerInput {
  acks: readonly Ack[];
  oldPort: number;
  newPort: number;
  faultAt: number;
  /** When the standby was seen promoted (watchPromotion), if it was. */
  promotedAt: number | undefined;
}

/** Reads the ids on both servers directly and compares them with the ledger. */
export async function checkLedger(
  input: LedgerInput & { oldUrl: string; newUrl: string },
): Promise<LedgerCheck> {
  const ids = async (url: string) =>
    new Set((await query(url, `SELECT id FROM ${table}`)).map((r) => Number(r.id)));
  const [onOld, onNew] = await Promise.all([ids(input.oldUrl), ids(input.newUrl)]);
  return compareLedger(input, onOld, onNew);
}

/** The comparison itself, on the ids each server has. */
export function compareLedger(
  input: LedgerInput,
  onOld: ReadonlySet<number>,
  onNew: ReadonlySet<number>,
): LedgerCheck {
  const { acks, oldPort, newPort } = input;
  const byOld = acks.filter((a) => a.port === oldPort);
  const byNew = acks.filter((a) => a.port === newPort);
  const firstNew = byNew[0];
  const promotedAt = Math.min(input.promotedAt ?? Infinity, firstNew?.at ?? Infinity);
  const holder = (a: Ack) => (a.port === oldPort ? onOld : a.port === newPort ? onNew : undefined);
  return {
    acknowledged: acks.length,
    acknowledgedByOld: byOld.length,
    acknowledgedByNew: byNew.length,
    lost: acks.filter((a) => !onNew.has(a.id)).map((a) => a.id),
    oldAfterPromotion: byOld
      .filter((a) => a.at >= promotedAt || (firstNew !== undefined && a.id > firstNew.id))
      .map((a) => a.id),
    notWhereAcknowledged: acks.filter((a) => holder(a)?.has(a.id) !== true).map((a) => a.id),
    onOldOnly: [...onOld].filter((id) => !onNew.has(id)).length,
    rtoSeconds: firstNew ? (firstNew.at - input.faultAt) / 1000 : undefined,
  };
}

/**
 * The old primary up again to be read: it must carry the failover's mark (standby.signal), so
 * that starting it brings it back read-only; one without the mark is not started here.
 */
export async function startOldPrimaryReadOnly(cluster: TestCluster): Promise<void> {
  const dir = cluster.pg.dataDir;
  if (isRunning(dir)) return;
  if (!existsSync(join(dir, 'standby.signal')))
    throw new Error('the old primary has no standby.signal: starting it would make it writable');
  await cluster.primary.start();
  await pollUntil(
    async () => (await query(cluster.primary.url, 'SELECT pg_is_in_recovery() AS r'))[0]?.r === true,
    30_000,
    'the old primary answers, in recovery',
  );
}
