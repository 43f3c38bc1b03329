/** Rules about who does the work: roles someone must fill, teams someone must hear. */
import { allSteps, asList, entries, type Rule, type RuleHit } from './rule.js';

/** role-unfilled: a role with neither a primary nor a backup. */
export const roleUnfilled: Rule = {
  id: 'role-unfilled',
  severity: 'warning',
  summary: 'A role nobody fills: at 3 a.m. its responsibilities fall to no one.',
  check({ plan }) {
    return entries(plan.roles)
      .filter(([, role]) => role.primary === undefined && asList(role.backup).length === 0)
      .map(([id]) => ({
        path: ['roles', id],
        atKey: true,
        message: `role ${id} has no primary and no backup: nobody fills it`,
        hint: 'name a person: `primary: PERSON-ID`, and a `backup`',
      }));
  },
};

/** team-unreachable: a team to be notified that has no one in it, and no channel to reach it. */
export const teamUnreachable: Rule = {
  id: 'team-unreachable',
  severity: 'warning',
  summary: 'A team notified that has neither members nor a channel: the message reaches nobody.',
  check({ plan }) {
    const teams = plan.teams ?? {};
    const empty = (id: string) => {
      if (!Object.hasOwn(teams, id)) return false;
      const team = teams[id]!;
      return team.lead === undefined && (team.members?.length ?? 0) === 0;
    };
    const hits: RuleHit[] = [];
    for (const [id, row] of entries(plan.stakeholders)) {
      if ((row.via?.length ?? 0) > 0) continue;
      row.contacts?.forEach((contact, i) => {
        if (empty(contact))
          hits.push({
            path: ['stakeholders', id, 'contacts', i],
            message: `team ${contact} is notified but has no lead or members, and the row names no channel`,
            hint: `add \`members\` (or a \`lead\`) to teams.${contact}, or \`via: [CHANNEL]\` to this row`,
          });
      });
    }
    for (const { step, path } of allSteps(plan)) {
      const to = asList(step.notify?.to);
      if (to.some((id) => Object.hasOwn(plan.channels ?? {}, id))) continue;
      to.forEach((contact, i) => {
        if (empty(contact))
          hits.push({
            path: [...path, 'notify', 'to', ...(Array.isArray(step.notify?.to) ? [i] : [])],
            message: `team ${contact} is notified but has no lead or members, and the step names no channel`,
            hint: `add \`members\` (or a \`lead\`) to teams.${contact}, or a channel to \`to\``,
          });
      });
    }
    return hits;
  },
};
