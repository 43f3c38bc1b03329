/** review-overdue: a plan past its review date is a plan nobody is keeping current. */
import type { Rule } from './rule.js';

/** The last moment a `YYYY-MM` or `YYYY-MM-DD` date still covers. */
export function endOfDate(value: string | Date): Date {
  if (value instanceof Date) return new Date(value.getTime() + 86_400_000 - 1);
  const [year, month, day] = value.split('-').map(Number) as [number, number, number | undefined];
  return day === undefined
    ? new Date(Date.UTC(year, month, 1) - 1)
    : new Date(Date.UTC(year, month - 1, day + 1) - 1);
}

export const reviewOverdue: Rule = {
  id: 'review-overdue',
  severity: 'warning',
  summary: 'The plan has passed its own next-review date.',
  check({ plan, now }) {
    const next = plan.document?.next_review;
    if (next === undefined) {
      return [
        {
          path: ['document'],
          atKey: true,
          message: 'no next_review date: nobody is due to check this plan',
          hint: 'add `document.next_review: YYYY-MM-DD`',
        },
      ];
    }
    const due = endOfDate(next);
    if (due >= now) return [];
    const days = Math.floor((now.getTime() - due.getTime()) / 86_400_000);
    return [
      {
        path: ['document', 'next_review'],
        message: `the plan was due for review on ${due.toISOString().slice(0, 10)}, ${days} days ago`,
        hint: 'review the plan, then move next_review forward',
      },
    ];
  },
};
