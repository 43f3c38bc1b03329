/** Rules over runbooks and their steps. */
import { STEP_ACTIONS } from '../schema.js';
import { allSteps, entries, type Rule } from './rule.js';

export const stepAction: Rule = {
  id: 'step-action',
  severity: 'error',
  summary: 'A step does exactly one thing, so that it can be run, logged and resumed.',
  check({ plan }) {
    return allSteps(plan).flatMap(({ step, path }) => {
      // A checklist may accompany a manual instruction: together they are one action for a person.
      const actions = STEP_ACTIONS.filter(
        (key) => step[key] !== undefined && !(key === 'checklist' && step.manual),
      );
      if (actions.length === 1) return [];
      return [
        {
          path,
          message:
            actions.length === 0
              ? 'the step has no action'
              : `the step has ${actions.length} actions (${actions.join(', ')}); one per step`,
          hint:
            actions.length === 0
              ? `give it one of: ${STEP_ACTIONS.join(', ')}`
              : 'split it into consecutive steps',
        },
      ];
    });
  },
};

export const runbookUnused: Rule = {
  id: 'runbook-unused',
  severity: 'warning',
  summary: 'A runbook no scenario, drill or other runbook uses will not be found when it is needed.',
  check({ plan }) {
    const used = new Set<string>([
      ...Object.values(plan.scenarios ?? {}).flatMap((s) => s.runbooks ?? []),
      ...Object.values(plan.drills ?? {}).flatMap((d) => (d.runbook ? [d.runbook] : [])),
      ...allSteps(plan).flatMap(({ step, owner }) =>
        step.runbook && !(owner.kind === 'runbook' && owner.id === step.runbook) ? [step.runbook] : [],
      ),
    ]);
    return entries(plan.runbooks)
      .filter(([id]) => !used.has(id))
      .map(([id]) => ({
        path: ['runbooks', id],
        atKey: true,
        message: `runbook ${id} is not used by any scenario, drill or runbook`,
        hint: "list it in a scenario's `runbooks`, or remove it",
      }));
  },
};

export const runbookEmpty: Rule = {
  id: 'runbook-empty',
  severity: 'error',
  summary: 'A runbook needs steps (or phases with steps).',
  check({ plan }) {
    return entries(plan.runbooks)
      .filter(([, r]) => (r.steps?.length ?? 0) === 0 && (r.phases?.length ?? 0) === 0)
      .map(([id]) => ({
        path: ['runbooks', id],
        atKey: true,
        message: `runbook ${id} has no steps`,
        hint: 'add `steps:` (or `phases:` with steps)',
      }));
  },
};

/** unknown-input: `{{inputs.x}}` in a step of a runbook that declares no input `x`. */
export const unknownInput: Rule = {
  id: 'unknown-input',
  severity: 'error',
  summary: 'A step uses a runbook input that the runbook does not declare.',
  check({ plan }) {
    return allSteps(plan).flatMap(({ step, path, owner }) => {
      if (owner.kind !== 'runbook') return [];
      const declared = plan.runbooks?.[owner.id]?.inputs ?? {};
      const used = [...JSON.stringify(step).matchAll(/\{\{\s*inputs\.([A-Za-z0-9_]+)\s*\}\}/g)].map(
        (m) => m[1]!,
      );
      return [...new Set(used)]
        .filter((name) => !(name in declared))
        .map((name) => ({
          path,
          message: `uses {{inputs.${name}}}, which runbook ${owner.id} does not declare`,
          hint: `declare it: runbooks.${owner.id}.inputs.${name}: { description: ... }`,
        }));
    });
  },
};
