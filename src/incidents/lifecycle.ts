/**
 * The incident lifecycle, the one engine the CLI (`lifeboat incident`) and the HTTP API
 * (`/api/v1/incidents`) both call: open, update, resolve, read. Each change is checked here
 * (the plan's services, a resolved incident stays closed), recorded with its timeline entry
 * and audited where it is decided.
 */
import { UsageError } from '../errors.js';
import type { Plan } from '../plan/schema.js';
import type { IncidentRecord } from '../state/incidents-store.js';
import type { StateStore } from '../state/store.js';
import { highestPriority, impactOf } from './impact.js';
import type { Incident, IncidentCreate, IncidentUpdateCreate } from './schemas.js';

export interface IncidentDeps {
  state: StateStore;
  plan: Plan;
}

/** No incident has this id: the HTTP API answers 404, the CLI exits 2. */
export class IncidentNotFoundError extends UsageError {}

/** The incident as the API and `--json` show it: the record, and its duration once resolved. */
export function presentIncident(record: IncidentRecord): Incident {
  const { updates, ...rest } = record;
  return {
    ...rest,
    durationSeconds:
      record.resolvedAt === null
        ? null
        : Math.max(0, Math.round((Date.parse(record.resolvedAt) - Date.parse(record.createdAt)) / 1000)),
    updates: updates.map((u) => ({
      id: u.id,
      status: u.status,
      message: u.message,
      actor: u.actor,
      createdAt: u.createdAt,
    })),
  };
}

function checkServices(plan: Plan, services: readonly string[]): void {
  const known = Object.keys(plan.services ?? {});
  const unknown = services.filter((id) => !known.includes(id));
  if (unknown.length > 0)
    throw new UsageError(`unknown service${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, {
      hint: `name services of the plan: ${known.join(', ') || '(the plan has none)'}`,
      details: { unknown, known },
    });
}

export async function openIncident(
  deps: IncidentDeps,
  input: IncidentCreate,
  actor: string,
): Promise<Incident> {
  const services = [...new Set(input.services ?? [])];
  checkServices(deps.plan, services);
  const severity = highestPriority(deps.plan, services);
  const record = await deps.state.incidents.insertIncident({
    title: input.title,
    status: input.status ?? 'investigating',
    impact: input.impact ?? impactOf(severity),
    severity,
    services,
    message: input.message,
    actor,
  });
  await deps.state.appendAudit({
    actor,
    action: 'incident.open',
    target: `incident:${record.id}`,
    details: { title: record.title, status: record.status, impact: record.impact, services },
    outcome: 'ok',
  });
  return presentIncident(record);
}

/**
 * Any status may follow any other while the incident is open (a fix that did not hold sends
 * it back to investigating); a resolved incident is closed for good, so that its duration and
 * the page's history stay what they were: a recurrence is a new incident.
 */
export async function updateIncident(
  deps: IncidentDeps,
  id: string,
  input: IncidentUpdateCreate,
  actor: string,
): Promise<Incident> {
  const current = await getIncident(deps, id);
  if (current.status === 'resolved')
    throw new UsageError(`incident ${id} is resolved (at ${current.resolvedAt}) and takes no more updates`, {
      hint: 'open a new incident if the problem came back',
    });
  const record = await deps.state.incidents.appendIncidentUpdate(id, { ...input, actor });
  await deps.state.appendAudit({
    actor,
    action: input.status === 'resolved' ? 'incident.resolve' : 'incident.update',
    target: `incident:${id}`,
    details: { from: current.status, status: input.status },
    outcome: 'ok',
  });
  return presentIncident(record);
}

export function resolveIncident(deps: IncidentDeps, id: string, message: string, actor: string) {
  return updateIncident(deps, id, { status: 'resolved', message }, actor);
}

export async function getIncident(deps: IncidentDeps, id: string): Promise<Incident> {
  const record = await deps.state.incidents.getIncident(id);
  if (!record)
    throw new IncidentNotFoundError(`no incident ${id}`, {
      hint: 'list them with `lifeboat incident list` or GET /api/v1/incidents',
    });
  return presentIncident(record);
}

export async function listIncidents(
  deps: Pick<IncidentDeps, 'state'>,
  options: { open?: boolean; limit?: number } = {},
): Promise<Incident[]> {
  return (await deps.state.incidents.listIncidents(options)).map(presentIncident);
}
