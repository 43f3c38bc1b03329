/** not-executed: the parts of this plan Lifeboat validates and renders but does not run yet. */
import { notExecuted } from '../execution.js';
import type { Rule } from './rule.js';

export const notExecutedRule: Rule = {
  id: 'not-executed',
  severity: 'info',
  summary:
    'Names the sections of the plan that Lifeboat validates and renders but does not execute yet, so that nobody counts on them at 3 a.m.',
  check({ plan }) {
    const parts = notExecuted(plan);
    if (parts.length === 0) return [];
    const names = parts.map(({ section, ids }) =>
      ids === undefined
        ? section
        : `${section} (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? `, and ${ids.length - 5} more` : ''})`,
    );
    return [
      {
        // The whole plan: a finding on one section would read as if the others were fine.
        path: [],
        message: `validated and rendered, but not executed by Lifeboat yet: ${names.join(', ')}`,
        hint: 'these describe what people do; Lifeboat runs backups, verification, restores, standbys and PostgreSQL failover (see "Executed by Lifeboat" in docs/plan.md)',
      },
    ];
  },
};
