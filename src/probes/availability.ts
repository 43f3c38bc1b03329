/**
 * Availability, p95 latency and error budget, per probe and per service, over the windows a
 * status page and an SLO review look at. A service is measured by the probes the plan lists
 * under `services.<id>.probes`; it is as available as the least available of them (a service
 * whose database probe fails is down, however well its web server answers), and its p95 is
 * that of all their checks together.
 */
import type { Plan } from '../plan/schema.js';
import { mergeSummaries, type ProbeSummary, type ProbesStore } from '../state/probes-store.js';

export const WINDOWS = {
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
  '90d': 90 * 86_400_000,
} as const;
export type WindowName = keyof typeof WINDOWS;

export interface Figures {
  readonly checks: number;
  readonly failures: number;
  /** Passed checks over all checks, 0..1; undefined without checks. */
  readonly availability: number | undefined;
  readonly p95Ms: number | undefined;
}

export interface ErrorBudget {
  /** The plan's objective, 0..1 (`objectives.availability: 99.9%` → 0.999). */
  readonly objective: number;
  /** Downtime the objective allows over the window. */
  readonly allowedMs: number;
  /** Downtime measured: the failed share of checks, over the window. */
  readonly spentMs: number;
  /** allowed − spent; negative once the budget is overspent. */
  readonly leftMs: number;
  /** left / allowed: 1 untouched, 0 spent, below 0 overspent. */
  readonly leftRatio: number;
}

export interface WindowFigures extends Figures {
  /** Present when the plan states `objectives.availability` and there were checks. */
  readonly budget?: ErrorBudget;
}

export interface AvailabilityReport {
  readonly at: number;
  readonly objective: number | undefined;
  readonly probes: Readonly<Record<string, Readonly<Record<WindowName, WindowFigures>>>>;
  /** Services that list probes; others are not measured. */
  readonly services: Readonly<Record<string, Readonly<Record<WindowName, WindowFigures>>>>;
}

/** The plan's availability objective as a ratio, or undefined when it states none. */
export function availabilityObjective(plan: Plan): number | undefined {
  const stated = plan.objectives?.availability;
  if (stated === undefined) return undefined;
  const percent = typeof stated === 'number' ? stated : Number.parseFloat(stated);
  return percent / 100;
}

export async function availabilityReport(
  store: ProbesStore,
  plan: Plan,
  options: { now?: number; windows?: readonly WindowName[] } = {},
): Promise<AvailabilityReport> {
  const at = options.now ?? Date.now();
  const objective = availabilityObjective(plan);
  const probeIds = Object.keys(plan.probes ?? {});
  const services = Object.entries(plan.services ?? {}).flatMap(([id, service]) =>
    service.probes?.length ? [[id, service.probes] as const] : [],
  );
  const probes: Record<string, Record<string, WindowFigures>> = Object.fromEntries(
    probeIds.map((id) => [id, {}]),
  );
  const byService: Record<string, Record<string, WindowFigures>> = Object.fromEntries(
    services.map(([id]) => [id, {}]),
  );
  for (const window of options.windows ?? (Object.keys(WINDOWS) as WindowName[])) {
    const spanMs = WINDOWS[window];
    const summaries = await store.summaries(probeIds, at - spanMs, at);
    for (const id of probeIds)
      probes[id]![window] = withBudget(figures(summaries.get(id)), objective, spanMs);
    for (const [id, members] of services) {
      const own = members.flatMap((p) => summaries.get(p) ?? []);
      byService[id]![window] = withBudget(serviceFigures(own), objective, spanMs);
    }
  }
  return {
    at,
    objective,
    probes: probes as AvailabilityReport['probes'],
    services: byService as AvailabilityReport['services'],
  };
}

export function figures(summary: ProbeSummary | undefined): Figures {
  if (!summary || summary.checks === 0)
    return { checks: 0, failures: 0, availability: undefined, p95Ms: undefined };
  return {
    checks: summary.checks,
    failures: summary.failures,
    availability: (summary.checks - summary.failures) / summary.checks,
    p95Ms: summary.p95Ms,
  };
}

function serviceFigures(summaries: readonly ProbeSummary[]): Figures {
  const merged = figures(mergeSummaries(summaries));
  const each = summaries.map((s) => figures(s).availability).filter((a): a is number => a !== undefined);
  return { ...merged, availability: each.length ? Math.min(...each) : undefined };
}

export function errorBudget(availability: number, objective: number, windowMs: number): ErrorBudget {
  const allowedMs = (1 - objective) * windowMs;
  const spentMs = (1 - availability) * windowMs;
  const leftMs = allowedMs - spentMs;
  return {
    objective,
    allowedMs: Math.round(allowedMs),
    spentMs: Math.round(spentMs),
    leftMs: Math.round(leftMs),
    leftRatio: allowedMs > 0 ? leftMs / allowedMs : leftMs >= 0 ? 1 : -Infinity,
  };
}

function withBudget(f: Figures, objective: number | undefined, windowMs: number): WindowFigures {
  if (objective === undefined || f.availability === undefined) return f;
  return { ...f, budget: errorBudget(f.availability, objective, windowMs) };
}
