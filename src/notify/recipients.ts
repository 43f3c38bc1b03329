/**
 * Who a stakeholder row's `contacts` are: roles, teams and people resolved to people. A role
 * is its primary, else its first backup (the backup is asked when the primary does not
 * answer, which is the incident commander's call, not a broadcast); a team is its lead and
 * members. Teams the plan names without members resolve to nobody, and the matrix says so.
 */
import type { Plan } from '../plan/schema.js';

export interface Recipient {
  /** The person id. */
  id: string;
  name: string;
  email: string | undefined;
  /** A number or an `env:`/`file:` reference, resolved only when the message is sent. */
  phone: string | undefined;
}

export function resolveContacts(plan: Plan, contacts: readonly string[]): Recipient[] {
  const seen = new Map<string, Recipient>();
  const add = (personId: string | undefined) => {
    if (personId === undefined || seen.has(personId)) return;
    const person = plan.people?.[personId];
    if (!person) return;
    seen.set(personId, { id: personId, name: person.name, email: person.email, phone: person.phone });
  };
  for (const id of contacts) {
    if (plan.people?.[id]) add(id);
    const role = plan.roles?.[id];
    if (role) add(role.primary ?? [role.backup ?? []].flat()[0]);
    const team = plan.teams?.[id];
    if (team) [team.lead, ...(team.members ?? [])].forEach(add);
  }
  return [...seen.values()];
}
