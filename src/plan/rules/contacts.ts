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
  summary:
    'A contact or name still written as a placeholder (`[Name]`, `[Phone]`) cannot be reached at 3 a.m.',
  check({ plan }) {
    // One finding per entry (a person, a vendor), listing its placeholder fields.
    const byOwner = new Map<string, { path: RuleHit['path']; fields: string[] }>();
    for (const { text, path } of strings(plan)) {
      if (PROSE_SECTIONS.has(String(path[0]))) continue;
      const field = [...path].reverse().find((p) => typeof p === 'string');
      const match = text.match(PLACEHOLDER);
      if (!match || !CONTACT_FIELDS.has(String(field))) continue;
      const ownerPath = path.slice(0, path.lastIndexOf(field!));
      const key = JSON.stringify(ownerPath);
      const entry = byOwner.get(key) ?? { path: ownerPath.length > 0 ? ownerPath : path, fields: [] };
      entry.fields.push(`${String(field)} ${match[0]}`);
      byOwner.set(key, entry);
    }
    return [...byOwner.values()].map(({ path, fields }) => ({
      path,
      atKey: true,
      message: `still a placeholder: ${fields.join(', ')}`,
      hint: 'fill in the real contact (or refer to it with `env:NAME` if it must not be in the repository)',
    }));
  },
};

/** unreachable-person: someone the plan relies on, with no way to reach them. */
export const unreachablePerson: Rule = {
  id: 'unreachable-person',
  severity: 'warning',
  summary: 'A person who holds a role or leads a team but has no phone, email or chat.',
  check({ plan }) {
    const relied = new Set<string>();
    for (const role of Object.values(plan.roles ?? {})) {
      if (role.primary) relied.add(role.primary);
      for (const b of [role.backup ?? []].flat()) relied.add(b);
    }
    for (const team of Object.values(plan.teams ?? {})) if (team.lead) relied.add(team.lead);
    return [...relied]
      .filter((id) => {
        const person = plan.people?.[id];
        return person !== undefined && !person.phone && !person.email && !person.chat;
      })
      .map((id) => ({
        path: ['people', id],
        atKey: true,
        message: `${id} holds a role or leads a team but has no phone, email or chat`,
        hint: 'add at least one way to reach them',
      }));
  },
};

/** stakeholder-unreachable: a row of the notification matrix that names nobody and no channel. */
export const stakeholderUnreachable: Rule = {
  id: 'stakeholder-unreachable',
  severity: 'warning',
  summary: 'A stakeholder to be notified, with neither contacts nor channels: the message has nowhere to go.',
  check({ plan }) {
    return Object.entries(plan.stakeholders ?? {})
      .filter(([, s]) => (s.contacts?.length ?? 0) === 0 && (s.via?.length ?? 0) === 0)
      .map(([id]) => ({
        path: ['stakeholders', id],
        atKey: true,
        message: `stakeholder ${id} has no contacts and no channel`,
        hint: 'add `via: [channel]` or `contacts: [role]`',
      }));
  },
};
