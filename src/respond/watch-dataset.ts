/**
 * The watch of one dataset, which lasts across handovers. It watches the primary it knows
 * of; a loss is answered as the plan decides. A handover another process announced
 * (handover-announce.ts) pauses it: no loss is declared until that ends. After a failover,
 * its own or another's, it follows the new primary with the same detector, guards the old
 * one, and takes a standby that attaches to the new primary as the next failover target once
 * it can tell which server that is (attached-standby.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RefusedError } from '../errors.js';
import type { ProtectContext } from '../protect/context.js';
import { datasetAuditor } from './audit.js';
import { identifyStandby, sameEndpoint, type KnownServer } from './failover/attached-standby.js';
import {
  superviseHandoverAware,
  type HandoverAwareOutcome,
  type HandoverAwareOptions,
} from './failover/auto-failover.js';
import type { FailoverPolicy } from './failover/failover-policy.js';
import { guardOldPrimary, type OldPrimaryGuard } from './failover/fence.js';
import type { ReplicaSample } from './failover/monitor.js';
import type { FailoverTopology } from './failover/observe.js';
import type { DatasetFailover } from './failover/plan-topology.js';
import { managedFromHost } from './failover/server-host.js';
import type { ManagedServer } from './failover/server.js';
import {
  announceHandover,
  describeHandover,
  handoverBudgetMs,
  lookAtAnnouncement,
  withoutPassword,
  type Announcement,
  type HandoverRecord,
  type ServerRef,
} from './handover-announce.js';
import { reportAnswer } from './watch-answer.js';
import { shownUrl, type QuietAudit, type Report, type WatchEnd, type WatchEvent } from './watch-events.js';

/** A restart in place stops and starts the primary: two minutes is plenty. */
const RESTART_BUDGET_MS = 120_000;

export interface DatasetWatchOptions {
  signal: AbortSignal;
  onEvent?(event: WatchEvent): void;
  actor?: string;
  /** Guards of old primaries, cancelled when the whole watch stops. */
  fences: { cancel(): void }[];
}

export interface DatasetWatch {
  readonly done: Promise<WatchEnd>;
  /** A plan read again (SIGHUP): the servers it names become known. */
  learn(failover: DatasetFailover): void;
  /** The plan could not be read again: said, and watching goes on as before. */
  reloadFailed(error: Error): void;
}

/** What the watch of a dataset knows and does now; changed only by this module. */
interface State {
  /** Read by the supervisor at the loss: standbys that attach meanwhile count. */
  topology: FailoverTopology;
  /** Servers the plan named (since the start, and in every reload): what a standby may be. */
  known: KnownServer[];
  guards: { server: ManagedServer; guard: OldPrimaryGuard }[];
  /** The newest ended announcement taken into account: older ones are history. */
  seenToken: string | undefined;
  /** Our own announcement while we act. */
  ours: Announcement | undefined;
  /** A completed handover found when we went to act: followed before watching again. */
  missed: HandoverRecord | undefined;
  /** Replicas already reported as standbys nobody could name. */
  unknown: Set<string>;
  identifying: boolean;
}

export function watchDataset(
  context: ProtectContext,
  id: string,
  failover: DatasetFailover,
  policy: FailoverPolicy,
  run: DatasetWatchOptions,
): DatasetWatch {
  const write = run.onEvent ?? (() => {});
  const report: Report = (event, message, fields = {}) => write({ dataset: id, event, message, ...fields });
  const auditor = datasetAuditor(context, 'watch.failover', id, run.actor);
  const audit: QuietAudit = (outcome, details) => auditor(outcome, details).catch(() => undefined);
  const first = lookAtAnnouncement(context.homeDir, id);
  const state: State = {
    topology: { ...failover.topology, standbys: [...failover.topology.standbys] },
    known: knownServers(failover),
    guards: [],
    // What ended before the watch started is history: the plan is the truth then.
    seenToken: first.kind === 'ended' ? first.record.token : undefined,
    ours: undefined,
    missed: undefined,
    unknown: new Set(),
    identifying: false,
  };
  const intervalMs = failover.watch.intervalMs;
  const staleReported = new Set<string>();

  /** A handover another process runs now, or one it completed that we have not followed yet. */
  const othersHandover = (): string | undefined => {
    const look = lookAtAnnouncement(context.homeDir, id);
    if (look.kind === 'running' && look.record.token !== state.ours?.record.token)
      return describeHandover(look.record);
    if (look.kind === 'ended' && look.record.token !== state.seenToken && look.record.state === 'done')
      return describeHandover(look.record);
    return undefined;
  };

  const beforeActing: HandoverAwareOptions['beforeActing'] = (action) => {
    let announcement: Announcement;
    try {
      announcement = announceHandover({
        homeDir: context.homeDir,
        dataset: id,
        command: 'lifeboat watch',
        mode: action.kind,
        from: ref(state.topology.primary),
        budgetMs: action.kind === 'restart' ? RESTART_BUDGET_MS : handoverBudgetMs(action.plan),
      });
    } catch (error) {
      if (error instanceof RefusedError) return error.message;
      // Failing over matters more than telling others about it.
      report(
        'error',
        `could not announce the failover to other Lifeboat processes: ${(error as Error).message}`,
      );
      return undefined;
    }
    const previous = announcement.previous;
    if (previous && previous.state === 'done' && previous.token !== state.seenToken) {
      announcement.end('unchanged');
      state.missed = previous;
      return describeHandover(previous);
    }
    state.ours = announcement;
    if (action.kind === 'failover') {
      // The server about to be promoted may be an old primary we guard: it must be let be.
      const promoted = state.topology.standbys.find((s) => s.name === action.plan.standby);
      if (promoted) unguard(state, promoted);
    }
    return undefined;
  };

  const onSample = (replicas: ReplicaSample[]) => {
    const waiting = replicas.filter(
      (r) => r.state === 'streaming' && !state.topology.standbys.some((s) => s.name === r.name),
    );
    const next = waiting.find((r) => !state.unknown.has(r.name));
    if (!next || state.identifying) return;
    state.identifying = true;
    const primary = state.topology.primary;
    void identifyStandby(primary, next, state.known)
      .then((server) => {
        if (state.topology.primary !== primary) return;
        if (!server) {
          state.unknown.add(next.name);
          report(
            'standby-attached',
            `${next.name} streams from ${primary.name}, but no server the plan names is it: a loss of ${primary.name} is reported, never failed over to it. ` +
              `To make it the failover target, name it in the plan (datasets.${id}.replication.standby: its URL, standby_data_dir when Lifeboat runs on its host) and send this watch SIGHUP`,
            { standby: next.name, target: false },
          );
          void audit('standby-attached', { standby: next.name, target: false });
          return;
        }
        state.topology.standbys.push(server);
        report(
          'standby-attached',
          `${server.name} (${shownUrl(server.url)}) streams from ${primary.name}: the failover target from now on` +
            (server.dataDir
              ? ''
              : '; its data directory is not known, so it cannot be fenced on its host once promoted'),
          { standby: server.name, url: shownUrl(server.url), target: true },
        );
        void audit('standby-attached', { standby: server.name, target: true });
      })
      .finally(() => (state.identifying = false));
  };

  const follow = (newPrimary: ManagedServer, why: string) => {
    const old = state.topology.primary;
    guard(state, old, report, audit, run.fences);
    state.topology = { primary: newPrimary, standbys: [], router: state.topology.router };
    state.unknown.clear();
    report(
      'following',
      `${why}: watching ${newPrimary.name} (${shownUrl(newPrimary.url)}) as the primary; ${old.name} is guarded. ` +
        `Until a standby of ${newPrimary.name} that the plan names streams, a loss is reported, not failed over`,
      { primary: newPrimary.name, url: shownUrl(newPrimary.url), guarded: old.name },
    );
    void audit('following', { primary: newPrimary.name, guarded: old.name });
  };

  /** Follows a handover another process completed, or reports how it ended. */
  const settle = (record: HandoverRecord) => {
    state.seenToken = record.token;
    const fields = { by: record.command, pid: record.pid, outcome: record.state };
    if (record.state !== 'done' || !record.newPrimary) {
      report(
        'resumed',
        `the ${record.mode} by ${describeHandover(record)} ended ${record.state}${record.error ? ` (${record.error})` : ''}: watching ${state.topology.primary.name} again`,
        fields,
      );
      void audit('resumed', fields);
      return;
    }
    report(
      'resumed',
      `the ${record.mode} by ${describeHandover(record)} promoted ${record.newPrimary.name}`,
      {
        ...fields,
        newPrimary: record.newPrimary.name,
      },
    );
    void audit('resumed', { ...fields, newPrimary: record.newPrimary.name });
    if (sameEndpoint(record.newPrimary.url, state.topology.primary.url)) return;
    follow(
      serverFor(record.newPrimary, state),
      `${record.newPrimary.name} was promoted by ${record.command}`,
    );
  };

  /** Waits while another process hands the dataset over; then takes its outcome into account. */
  const pauseFor = async (record: HandoverRecord) => {
    const fields = {
      by: record.command,
      pid: record.pid,
      host: record.hostname,
      mode: record.mode,
      deadline: record.deadline,
    };
    report(
      'paused',
      `a ${record.mode} by ${describeHandover(record)} is under way: no loss is declared until it ends (at the latest ${record.deadline})`,
      fields,
    );
    void audit('paused', fields);
    for (;;) {
      await sleep(intervalMs, undefined, { signal: run.signal }).catch(() => undefined);
      if (run.signal.aborted) return;
      const look = lookAtAnnouncement(context.homeDir, id);
      if (look.kind === 'running' && look.record.token === record.token) continue;
      if (look.kind === 'ended') return settle(look.record);
      if (look.kind === 'stale') return reportStale(look.record, look.why);
      // Replaced meanwhile (its deadline passed and another handover started): start over.
      return;
    }
  };

  const reportStale = (record: HandoverRecord, why: string) => {
    if (staleReported.has(record.token)) return;
    staleReported.add(record.token);
    const fields = { by: record.command, pid: record.pid, host: record.hostname, why };
    report(
      'stale-handover',
      `ignoring the ${record.mode} announced by ${describeHandover(record)}: ${why}; watching ${state.topology.primary.name} and answering its loss as the plan decides`,
      fields,
    );
    void audit('handover-stale', fields);
  };

  const loop = async (): Promise<WatchEnd> => {
    report(
      'watching',
      `watching ${shownUrl(state.topology.primary.url)}: loss declared after ${failover.watch.deadlineMs / 1000}s; ${policy.reason}`,
      { decision: policy.decision, scenario: policy.scenario ?? null },
    );
    while (!run.signal.aborted) {
      if (state.missed) {
        const missed = state.missed;
        state.missed = undefined;
        settle(missed);
      }
      const look = lookAtAnnouncement(context.homeDir, id);
      if (look.kind === 'running') {
        await pauseFor(look.record);
        continue;
      }
      if (look.kind === 'stale') reportStale(look.record, look.why);
      if (look.kind === 'ended' && look.record.token !== state.seenToken) settle(look.record);

      const supervisor = superviseHandoverAware({
        topology: state.topology,
        watch: { ...failover.watch, onSample: (sample) => onSample(sample.replicas) },
        decision: policy.decision,
        failover: { ...failover.limits },
        restartInPlace: failover.restartInPlace,
        handoverUnderway: othersHandover,
        beforeActing,
        onEvent: (event) => {
          if (event.type === 'lost')
            report(
              'lost',
              `${state.topology.primary.name} lost (${event.loss.failure}): ${event.loss.message}`,
              {
                failure: event.loss.failure,
                primary: state.topology.primary.name,
                url: shownUrl(state.topology.primary.url),
              },
            );
          else if (event.type === 'planned')
            report('planned', `failing over to ${event.plan.standby}`, {
              steps: event.plan.steps.map((s) => s.kind),
            });
          else report('restart-failed', `restart in place failed: ${event.error}`);
        },
      });
      // A handover announced while the primary is still fine pauses the detector at once.
      let interrupted = false;
      const poll = setInterval(() => {
        const look = lookAtAnnouncement(context.homeDir, id);
        if (look.kind === 'running' && look.record.token !== state.ours?.record.token) {
          interrupted = true;
          supervisor.stop();
        }
      }, intervalMs);
      const onAbort = () => supervisor.stop();
      run.signal.addEventListener('abort', onAbort, { once: true });
      let outcome: HandoverAwareOutcome | undefined;
      try {
        outcome = await supervisor.done;
      } catch (error) {
        state.ours?.end('failed', { error: (error as Error).message });
        report('error', `failover failed: ${(error as Error).message}`);
        await audit('failed', { error: (error as Error).message });
        return 'error';
      } finally {
        clearInterval(poll);
        run.signal.removeEventListener('abort', onAbort);
      }
      const ours = state.ours;
      state.ours = undefined;
      if (!outcome) {
        if (interrupted) continue;
        return 'stopped';
      }
      if (outcome.outcome === 'handover-underway') continue;
      if (outcome.outcome === 'failed-over') {
        const promoted = state.topology.standbys.find((s) => s.name === outcome.result.newPrimary);
        ours?.end('done', { newPrimary: ref(promoted ?? state.topology.primary) });
        if (ours) state.seenToken = ours.record.token;
        await reportAnswer(id, outcome, report, audit, run.fences);
        if (promoted) follow(promoted, `failed over to ${promoted.name}`);
        continue;
      }
      ours?.end('unchanged');
      if (ours) state.seenToken = ours.record.token;
      await reportAnswer(id, outcome, report, audit, run.fences);
      if (outcome.outcome !== 'restarted') return outcome.outcome;
    }
    return 'stopped';
  };

  return {
    done: loop(),
    learn: (next) => {
      for (const server of knownServers(next))
        if (!state.known.some((k) => k.url === server.url && k.dataDir === server.dataDir))
          state.known.unshift(server);
      const current = state.topology.primary;
      const named = next.topology.primary;
      // The plan now names the primary we follow: it may tell where its data directory is.
      if (sameEndpoint(named.url, current.url) && named.dataDir && named.dataDir !== current.dataDir)
        state.topology.primary = managedFromHost({
          name: current.name,
          url: named.url,
          dataDir: named.dataDir,
          dataDirField: `datasets.${id}.source.data_dir`,
        });
      state.unknown.clear();
      report(
        'reloaded',
        `plan read again: ${state.known.length} server(s) known as possible standbys; the primary watched stays ${state.topology.primary.name} (${shownUrl(state.topology.primary.url)})` +
          (sameEndpoint(named.url, state.topology.primary.url)
            ? ''
            : `, although the plan names ${shownUrl(named.url)}: restart the watch to watch that one instead`),
        { primary: state.topology.primary.name },
      );
    },
    reloadFailed: (error) =>
      report('reload-failed', `the plan could not be read again: ${error.message}; watching as before`),
  };
}

/** The servers a plan's topology names, as a standby could be one of them. */
function knownServers(failover: DatasetFailover): KnownServer[] {
  const id = failover.dataset;
  const { primary, standbys } = failover.topology;
  return [
    { url: primary.url, dataDirField: `datasets.${id}.source.data_dir`, ...dir(primary) },
    ...standbys.map((s) => ({
      url: s.url,
      dataDirField: `datasets.${id}.replication.standby_data_dir`,
      ...dir(s),
    })),
  ];
}

const dir = (server: ManagedServer) => (server.dataDir ? { dataDir: server.dataDir } : {});

function ref(server: ManagedServer): ServerRef {
  return { name: server.name, url: withoutPassword(server.url) };
}

/** The server an announcement names: one we know (with its own URL and data directory), else as announced. */
function serverFor(named: ServerRef, state: State): ManagedServer {
  const standby = state.topology.standbys.find((s) => sameEndpoint(s.url, named.url));
  if (standby) return standby;
  const known = state.known.find((k) => sameEndpoint(k.url, named.url));
  return managedFromHost({ ...(known ?? { url: named.url }), name: named.name });
}

/** Keeps an old primary from serving writes next to the new one, for as long as the watch runs. */
function guard(
  state: State,
  old: ManagedServer,
  report: Report,
  audit: QuietAudit,
  fences: { cancel(): void }[],
): void {
  if (state.guards.some((g) => sameEndpoint(g.server.url, old.url))) return;
  const watch = guardOldPrimary(old, ({ action, returnedAt }) => {
    const seconds = (Date.now() - returnedAt) / 1000;
    report(
      'fenced',
      action === 'stopped'
        ? `the old primary ${old.name} served writes again: stopped on its host in ${seconds.toFixed(2)}s`
        : `the old primary ${old.name} served writes again and its host is out of reach: made read-only over SQL (a superuser can undo that; stop it on its host)`,
      { action, server: old.name },
    );
    void audit('fenced', { action, server: old.name });
  });
  state.guards.push({ server: old, guard: watch });
  fences.push(watch);
}

/** An old primary about to be promoted again is no longer guarded. */
function unguard(state: State, server: ManagedServer): void {
  for (const g of state.guards.filter((g) => sameEndpoint(g.server.url, server.url))) g.guard.cancel();
  state.guards = state.guards.filter((g) => !sameEndpoint(g.server.url, server.url));
}
