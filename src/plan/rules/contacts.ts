/** placeholder: contact details and names still left as `[Name]`, `[Phone]` in the plan. */
import type { Rule, RuleHit } from './rule.js';
import { strings } from './walk.js';

const PLACEHOLDER = /\[[A-Za-z][A-Za-z /_-]*\]/;
/** Fields where text is a name or a contact, never shell or prose that may use brackets. */
const CONTACT_FIELDS = new Set([
  'name',
  'title',
  'phone',
  'email',
  'chat',
  'owner',
  'approved_by',
  'account_manager',
  'support_phone',
  'support_email',
  'support_url',
  'target',
  'from',
  'to',
  'url',
]);
const PROSE_SECTIONS = new Set(['templates', 'runbooks', 'drills']);

export const placeholder: Rule = {
  id: 'placeholder',
  severity: 'warning',
  summary: 'A contact or name still written as a placeholder (`[Name]`, `[Phone]`) cannot be reached at 3 a.m.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    for (const { text, path } of strings(plan)) {
      if (PROSE_SECTIONS.has(String(path[0]))) continue;
      const field = [...path].reverse().find((p) => typeof p === 'string');
      const match = text.match(PLACEHOLDER);
      if (!match || !CONTACT_FIELDS.has(String(field))) continue;
      hits.push({
        path,
        message: `placeholder ${match[0]} where a real ${field === 'name' ? 'name' : String(field).replace('_', ' ')} belongs`,
        hint: 'fill it in (or refer to a secret with `env:NAME` if it must not be in the repository)',
      });
    }
    return hits;
  },
};
