/**
 * The status page's model from what is known: the plan's services (the components), the
 * incidents in the state store (their status and history), the uptime its caller measured
 * from probe results. Pure. Maintenance stays empty until windows are recorded: nothing is
 * made up.
 */
import type { Plan } from '../plan/schema.js';
import { availabilityObjective } from '../probes/availability.js';
import type { Incident } from '../incidents/schemas.js';
import type { ComponentStatus, Impact, StatusComponent, StatusIncident, StatusPageModel } from './model.js';

export interface StatusPageInput {
  plan: Plan;
  /** Open and past incidents, any order. */
  incidents: readonly Incident[];
  /** `lifeboat up --public-url`, or null. */
  publicUrl: string | null;
  /** When the plan content was first seen (its plan version): the components' creation time. */
  since: string;
  /** Per component, availability per day from the recorded probe results (uptime.ts). Default: none. */
  uptime?: Map<string, { date: string; availability: number | null }[]>;
}

const PRIORITY_GROUPS: Record<string, string> = {
  critical: 'Critical services',
  high: 'High-priority services',
  medium: 'Medium-priority services',
  low: 'Low-priority services',
};

/** Worst first: a component affected by several incidents shows the worst. */
const STATUS_ORDER: ComponentStatus[] = [
  'major_outage',
  'partial_outage',
  'degraded_performance',
  'under_maintenance',
  'operational',
];

/** What an unresolved incident of this impact does to the components it names. */
export function componentStatusOf(impact: Impact): ComponentStatus {
  switch (impact) {
    case 'critical':
    case 'major':
      return 'major_outage';
    case 'minor':
      return 'partial_outage';
    case 'none':
      return 'degraded_performance';
  }
}

/** `status_page.components` when the plan lists them, else every service not run by a third party. */
export function componentIds(plan: Plan): string[] {
  const services = plan.services ?? {};
  return plan.status_page?.components ?? Object.keys(services).filter((id) => !services[id]?.external);
}

export function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'lifeboat'
  );
}

export function buildStatusPage(input: StatusPageInput): StatusPageModel {
  const { plan } = input;
  const services = plan.services ?? {};
  const ids = componentIds(plan);
  const grouped = ids.some((id) => services[id]?.priority !== undefined);
  const open = input.incidents.filter((i) => i.resolvedAt === null);

  const components: StatusComponent[] = ids.map((id) => {
    const service = services[id];
    const affecting = input.incidents.filter((i) => i.services.includes(id));
    const statuses = open.filter((i) => i.services.includes(id)).map((i) => componentStatusOf(i.impact));
    const priority = service?.priority;
    return {
      id,
      name: service?.name ?? id,
      description: service?.description ?? null,
      group: grouped ? (priority ? PRIORITY_GROUPS[priority]! : 'Other services') : null,
      status: STATUS_ORDER.find((s) => statuses.includes(s)) ?? 'operational',
      createdAt: input.since,
      updatedAt: latest([input.since, ...affecting.map((i) => i.updatedAt)]),
      // Only days the probes measured: a component without probes has no bars at all.
      uptime: input.uptime?.get(id) ?? [],
    };
  });

  const shown = new Set(ids);
  const incidents: StatusIncident[] = [...input.incidents]
    .sort(
      (a, b) =>
        Number(a.resolvedAt !== null) - Number(b.resolvedAt !== null) ||
        b.createdAt.localeCompare(a.createdAt),
    )
    .map((i) => ({
      id: i.id,
      name: i.title,
      status: i.status,
      impact: i.impact,
      createdAt: i.createdAt,
      updatedAt: i.updatedAt,
      resolvedAt: i.resolvedAt,
      components: i.services.filter((s) => shown.has(s)),
      updates: [...i.updates]
        .reverse()
        .map((u) => ({ id: u.id, status: u.status, body: u.message, createdAt: u.createdAt })),
    }));

  return {
    page: {
      id: slug(plan.organization),
      name: plan.organization,
      url: input.publicUrl,
      timeZone: 'Etc/UTC',
      updatedAt: latest([input.since, ...input.incidents.map((i) => i.updatedAt)]),
      availabilityObjective: availabilityObjective(plan) ?? null,
    },
    components,
    incidents,
    maintenances: [],
  };
}

/** The page's indicator: the worst impact among unresolved incidents. */
export function pageIndicator(model: StatusPageModel): Impact {
  const open = model.incidents.filter((i) => i.resolvedAt === null).map((i) => i.impact);
  return (['critical', 'major', 'minor', 'none'] as const).find((impact) => open.includes(impact)) ?? 'none';
}

/** Statuspage's own words for each indicator. */
export const INDICATOR_DESCRIPTIONS: Record<Impact, string> = {
  none: 'All Systems Operational',
  minor: 'Minor Service Outage',
  major: 'Partial System Outage',
  critical: 'Major System Outage',
};

function latest(times: string[]): string {
  return times.reduce((a, b) => (b > a ? b : a));
}
