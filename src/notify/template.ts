/**
 * Message templates filled with an incident's facts. The variables are exactly those the
 * plan rules accept (plan/rules/templates.ts): a template that passes `plan check` renders
 * with no `{{placeholder}}` left, and a fact not known yet reads "not known yet" rather
 * than a blank.
 */
import { UsageError } from '../errors.js';
import { formatDuration } from '../plan/duration.js';
import { TEMPLATE_VARIABLES } from '../plan/rules/templates.js';
import type { Plan } from '../plan/schema.js';
import type { IncidentFacts } from './incident.js';

export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateValues = Record<TemplateVariable, string | undefined>;
export type TemplateText = { subject?: string | undefined; body: string };

export const NOT_KNOWN = 'not known yet';
const VARIABLE = /\{\{\s*([^}]*?)\s*\}\}/g;

/** The messages sent when a stakeholder row names no template of its own. */
export const DEFAULT_TEMPLATES = {
  initial: {
    subject: '[{{incident.severity}}] {{organization}}: {{incident.summary}}',
    body: [
      'Incident {{incident.id}}: {{incident.summary}}',
      'Severity: {{incident.severity}}',
      'Services: {{incident.services}}',
      'Status: {{incident.status}}',
      'Started: {{incident.started_at}}',
      'Incident commander: {{incident.commander}}',
      'Next update: {{incident.next_update}}',
    ].join('\n'),
  },
  update: {
    subject: '[{{incident.severity}}] Update: {{incident.summary}}',
    body: [
      'Incident {{incident.id}}: {{incident.summary}}',
      'Status: {{incident.status}}',
      'Update: {{incident.update}}',
      'Next steps: {{incident.next_steps}}',
      'Next update: {{incident.next_update}}',
    ].join('\n'),
  },
  resolution: {
    subject: 'Resolved: {{incident.summary}}',
    body: [
      'Incident {{incident.id}} is resolved.',
      'Services: {{incident.services}}',
      'Resolved: {{incident.resolved_at}} (after {{incident.duration}})',
      'Resolution: {{incident.resolution}}',
    ].join('\n'),
  },
} as const satisfies Record<string, TemplateText>;

/** `2026-05-01 14:03 UTC`: what a person reads; the ISO form stays in the records. */
export function formatTime(iso: string | undefined): string | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function serviceNames(plan: Plan, ids: readonly string[]): string[] {
  return ids.map((id) => plan.services?.[id]?.name ?? id);
}

function commanderOf(plan: Plan): string | undefined {
  const role = plan.roles?.['incident-commander'];
  const person = role?.primary ?? [role?.backup ?? []].flat()[0];
  return person === undefined ? undefined : (plan.people?.[person]?.name ?? person);
}

/** Every variable's value for this incident; `nextUpdateAt` is the recipient's next checkpoint. */
export function incidentValues(
  plan: Plan,
  incident: IncidentFacts,
  options: { nextUpdateAt?: string | undefined } = {},
): TemplateValues {
  const services = serviceNames(plan, incident.services);
  const duration =
    incident.resolvedAt === undefined
      ? undefined
      : formatDuration(
          Math.max(
            0,
            Math.round((Date.parse(incident.resolvedAt) - Date.parse(incident.startedAt)) / 60_000) * 60,
          ),
        );
  return {
    organization: plan.organization,
    'incident.id': incident.id,
    'incident.title': incident.title,
    'incident.severity': incident.severity,
    'incident.service': services.join(', ') || undefined,
    'incident.services': services.join(', ') || undefined,
    'incident.impact': incident.impact,
    'incident.scenario': incident.scenario,
    'incident.started_at': formatTime(incident.startedAt),
    'incident.eta': incident.eta,
    'incident.status': incident.status,
    'incident.summary': incident.summary ?? incident.title,
    'incident.update': incident.update,
    'incident.next_steps': incident.nextSteps,
    'incident.next_update': formatTime(incident.nextUpdateAt ?? options.nextUpdateAt),
    'incident.updated_at': formatTime(incident.updatedAt ?? incident.startedAt),
    'incident.commander': incident.commander ?? commanderOf(plan),
    'incident.resolved_at': formatTime(incident.resolvedAt),
    'incident.duration': duration,
    'incident.root_cause': incident.rootCause,
    'incident.resolution': incident.resolution,
    'incident.prevention': incident.prevention,
    'incident.review_at': formatTime(incident.reviewAt),
    'incident.url': incident.url,
    'status_page.url': plan.status_page?.url,
  };
}

function fill(text: string, values: TemplateValues, where: string): string {
  return text.replace(VARIABLE, (_match, name: string) => {
    if (!Object.hasOwn(values, name))
      // plan check refuses these (template-variable); reaching here means it was not run.
      throw new UsageError(`${where}: unknown variable {{${name}}}`, {
        hint: 'run `lifeboat plan check`: it names the variables a template may use',
      });
    return values[name as TemplateVariable] ?? NOT_KNOWN;
  });
}

/** The subject (default: the body's first line) and body, every variable filled. */
export function renderTemplate(
  template: TemplateText,
  values: TemplateValues,
  where = 'template',
): { subject: string; body: string } {
  const body = fill(template.body, values, `${where}.body`).trimEnd();
  const subject =
    template.subject === undefined
      ? (body.split('\n')[0] ?? '')
      : fill(template.subject, values, `${where}.subject`);
  return { subject, body };
}
