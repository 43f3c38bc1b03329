/**
 * The loop `lifeboat up` runs beside its HTTP API: the plan's probes, an incident opened when
 * one goes down (one outage is one incident, found again after a restart by its title), moved
 * to `monitoring` when it comes back and resolved once it has stayed up; and every open or
 * freshly resolved incident handed to the notification engine, whose outbox worker delivers.
 * Incidents opened by hand (the API, `lifeboat incident`) are notified the same way.
 */
import type { Plan } from '../plan/schema.js';
import type { StateStore } from '../state/store.js';
import { enqueueDueNotices, planChannels, runOutboxWorker, type IncidentFacts } from '../notify/index.js';
import type { DeliveryEvent } from '../notify/index.js';
import { probesFromPlan } from '../probes/index.js';
import { startProbeRecorder } from '../probes/recorder.js';
import { startProbes, type ProbeEvent } from '../probes/runner.js';
import { listIncidents, openIncident, updateIncident } from './lifecycle.js';
import type { Incident } from './schemas.js';

export interface ResponderOptions {
  plan: Plan;
  planDir: string;
  state: StateStore;
  env?: NodeJS.ProcessEnv;
  /** How long a probe must stay up before its incident is resolved. Default: 5 minutes. */
  resolveAfterMs?: number;
  /** How often open incidents are looked at for notifications falling due. Default: 15 s. */
  noticeEveryMs?: number;
  log: (line: string) => void;
}

export interface Responder {
  /** The probes' current states, for the API and the page. */
  probeStates(): { probe: string; state: string; since: number | undefined }[];
  stop(): Promise<void>;
}

const ACTOR = 'lifeboat up';
/** Part of the title of a probe's incident: how a restarted server finds the outage it opened. */
const probeTitle = (probe: string) => `Probe ${probe} is failing`;

const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;

function factsOf(incident: Incident): IncidentFacts {
  const severity = SEVERITIES.find((s) => s === incident.severity) ?? 'medium';
  const last = incident.updates.at(-1);
  return {
    id: incident.id,
    title: incident.title,
    severity,
    status: incident.status,
    services: incident.services,
    startedAt: incident.createdAt,
    ...(incident.resolvedAt === null ? {} : { resolvedAt: incident.resolvedAt }),
    impact: incident.impact,
    ...(last ? { update: last.message, updatedAt: last.createdAt } : {}),
  };
}

export function startResponder(options: ResponderOptions): Responder {
  const { plan, state, log } = options;
  const controller = new AbortController();
  const resolveAfterMs = options.resolveAfterMs ?? 5 * 60_000;
  const deps = { state, plan };
  /** probe → the open incident its outage opened. */
  const openFor = new Map<string, string>();
  const resolveTimers = new Map<string, NodeJS.Timeout>();
  let work: Promise<unknown> = Promise.resolve();
  // Incident changes in order, one at a time: a down and an up of one probe never race.
  const serially = (what: string, fn: () => Promise<unknown>) => {
    work = work.then(fn).catch((error: unknown) => log(`${what}: ${(error as Error).message}`));
    return work;
  };

  const servicesOf = (probe: string) =>
    Object.entries(plan.services ?? {})
      .filter(([, service]) => (service.probes ?? []).includes(probe))
      .map(([id]) => id);

  const onEvent = (event: ProbeEvent) => {
    if (event.type === 'down') {
      clearTimeout(resolveTimers.get(event.probe));
      resolveTimers.delete(event.probe);
      void serially(`opening the incident of probe ${event.probe}`, async () => {
        const known = openFor.get(event.probe);
        if (known) {
          await updateIncident(
            deps,
            known,
            { status: 'investigating', message: `failing again: ${event.message}` },
            ACTOR,
          );
          return;
        }
        const incident = await openIncident(
          deps,
          {
            title: probeTitle(event.probe),
            status: 'investigating',
            message: `${event.failures} failed checks in a row: ${event.message}`,
            services: servicesOf(event.probe),
          },
          ACTOR,
        );
        openFor.set(event.probe, incident.id);
        await notify(incident);
      });
      return;
    }
    const id = openFor.get(event.probe);
    if (!id) return;
    void serially(`updating the incident of probe ${event.probe}`, async () => {
      await notify(
        await updateIncident(
          deps,
          id,
          { status: 'monitoring', message: `passing again: ${event.message}` },
          ACTOR,
        ),
      );
      resolveTimers.set(
        event.probe,
        setTimeout(() => {
          resolveTimers.delete(event.probe);
          void serially(`resolving the incident of probe ${event.probe}`, async () => {
            openFor.delete(event.probe);
            await notify(
              await updateIncident(
                deps,
                id,
                { status: 'resolved', message: `passing for ${Math.round(resolveAfterMs / 1000)}s` },
                ACTOR,
              ),
            );
          });
        }, resolveAfterMs),
      );
    });
  };

  const notify = async (incident: Incident) => {
    const report = await enqueueDueNotices(state.outbox, plan, factsOf(incident));
    if (report.unreachable.length > 0)
      log(`incident ${incident.id}: no channel reaches ${report.unreachable.join(', ')}`);
  };

  // Notices that fall due later (15 min, 1 h...) and incidents opened through the API.
  const tick = setInterval(() => {
    void serially('looking for notifications due', async () => {
      const recent = await listIncidents(deps, { limit: 200 });
      const cutoff = Date.now() - 24 * 3_600_000;
      for (const incident of recent)
        if (incident.resolvedAt === null || Date.parse(incident.resolvedAt) > cutoff) await notify(incident);
    });
  }, options.noticeEveryMs ?? 15_000);

  const recorder = startProbeRecorder(state.probes, { onError: (e) => log(`probe results: ${String(e)}`) });
  const probes = probesFromPlan(plan, {
    planDir: options.planDir,
    ...(options.env ? { env: options.env } : {}),
  });
  // Outages opened before a restart are found again by their title.
  const ready = serially('reading the open incidents', async () => {
    for (const incident of await listIncidents(deps, { open: true, limit: 500 }))
      for (const { probe } of probes)
        if (incident.title === probeTitle(probe.id)) openFor.set(probe.id, incident.id);
  });
  let runner: ReturnType<typeof startProbes> | undefined;
  void ready.then(() => {
    if (controller.signal.aborted) return;
    runner = startProbes(probes, { signal: controller.signal, onEvent, onCheck: (c) => recorder.record(c) });
  });
  const worker = runOutboxWorker({
    outbox: state.outbox,
    channels: planChannels(plan, options.planDir, options.env ? { env: options.env } : {}),
    signal: controller.signal,
    onEvent: (event: DeliveryEvent) => {
      if (event.type === 'failed')
        log(`notification ${event.messageId} could not be delivered: ${event.error}`);
    },
  });
  return {
    probeStates: () => (runner?.status() ?? []).map((s) => ({ probe: s.id, state: s.state, since: s.since })),
    stop: async () => {
      controller.abort();
      clearInterval(tick);
      for (const timer of resolveTimers.values()) clearTimeout(timer);
      await runner?.stop();
      await recorder.stop();
      await work;
      await worker;
    },
  };
}
