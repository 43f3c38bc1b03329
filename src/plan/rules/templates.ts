/** template-variable: a message template that uses a variable Lifeboat never fills. */
import { closest } from '../schema-walk.js';
import { entries, type Rule, type RuleHit } from './rule.js';

/** What an incident provides to templates; kept in one place with the notification engine. */
export const TEMPLATE_VARIABLES = [
  'organization',
  'incident.id',
  'incident.title',
  'incident.severity',
  'incident.service',
  'incident.services',
  'incident.impact',
  'incident.scenario',
  'incident.started_at',
  'incident.eta',
  'incident.status',
  'incident.summary',
  'incident.update',
  'incident.next_steps',
  'incident.next_update',
  'incident.updated_at',
  'incident.commander',
  'incident.resolved_at',
  'incident.duration',
  'incident.root_cause',
  'incident.resolution',
  'incident.prevention',
  'incident.review_at',
  'incident.url',
  'status_page.url',
] as const;

const VARIABLE = /\{\{\s*([^}]*?)\s*\}\}/g;
const LEFTOVER = /\[[A-Z][A-Za-z /_-]*\]/;

export const templateVariable: Rule = {
  id: 'template-variable',
  severity: 'error',
  summary: 'A template variable Lifeboat does not know would be sent blank.',
  check({ plan }) {
    const known = new Set<string>(TEMPLATE_VARIABLES);
    const hits: RuleHit[] = [];
    for (const [id, template] of entries(plan.templates)) {
      for (const field of ['subject', 'body'] as const) {
        const text = template[field];
        if (!text) continue;
        for (const match of text.matchAll(VARIABLE)) {
          const name = match[1]!;
          if (known.has(name)) continue;
          const suggestion = closest(name, TEMPLATE_VARIABLES);
          hits.push({
            path: ['templates', id, field],
            message: `unknown variable {{${name}}}`,
            hint: suggestion
              ? `did you mean {{${suggestion}}}?`
              : `known variables: ${TEMPLATE_VARIABLES.join(', ')}`,
          });
        }
      }
    }
    return hits;
  },
};

export const templatePlaceholder: Rule = {
  id: 'template-placeholder',
  severity: 'warning',
  summary: 'A template still holding `[Placeholder]` text would be sent with it.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    for (const [id, template] of entries(plan.templates)) {
      for (const field of ['subject', 'body'] as const) {
        const match = template[field]?.match(LEFTOVER);
        if (match)
          hits.push({
            path: ['templates', id, field],
            message: `${match[0]} would be sent as written`,
            hint: 'replace it with a {{variable}} that Lifeboat fills',
          });
      }
    }
    return hits;
  },
};
