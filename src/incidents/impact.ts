/**
 * An incident's impact from the services it affects: the plan's priorities say how much the
 * business depends on each, Statuspage's impact says how bad the incident is to readers.
 */
import type { Plan } from '../plan/schema.js';
import type { IncidentImpactValue } from '../state/incidents-store.js';

const PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
type Priority = (typeof PRIORITIES)[number];

const IMPACT_OF: Record<Priority, IncidentImpactValue> = {
  critical: 'critical',
  high: 'major',
  medium: 'minor',
  low: 'minor',
};

/** The highest priority among the services, or null when none of them has one. */
export function highestPriority(plan: Plan, services: readonly string[]): Priority | null {
  const given = services.map((id) => plan.services?.[id]?.priority).filter((p) => p !== undefined);
  return PRIORITIES.find((p) => given.includes(p)) ?? null;
}

/** `minor` when nothing is known: an incident someone opened is at least that to its readers. */
export function impactOf(priority: Priority | null): IncidentImpactValue {
  return priority === null ? 'minor' : IMPACT_OF[priority];
}
