/** The shape of a plan rule: a small pure function over the validated plan, with a stable id. */
import type { PathSegment, Severity } from '../findings.js';
import type { Document } from 'yaml';
import type { Plan, Step } from '../schema.js';

export interface RuleContext {
  plan: Plan;
  /** "Now", injectable so that date rules are testable. */
  now: Date;
  /** The YAML the plan was read from, when there is one. */
  yaml?: Document | undefined;
}

export interface RuleHit {
  path: PathSegment[];
  message: string;
  hint?: string;
  /** Where the finding points at a key rather than its value (e.g. an unused runbook). */
  atKey?: boolean;
}

export interface Rule {
  id: string;
  severity: Severity;
  /** One line for the docs: what the rule catches and why it matters. */
  summary: string;
  check(context: RuleContext): RuleHit[];
}

export interface StepAt {
  step: Step;
  path: PathSegment[];
  /** The runbook or drill the step belongs to. */
  owner: { kind: 'runbook' | 'drill'; id: string };
}

/** Every step of every runbook (plain or phased) and drill procedure, with its path. */
export function allSteps(plan: Plan): StepAt[] {
  const out: StepAt[] = [];
  for (const [id, runbook] of Object.entries(plan.runbooks ?? {})) {
    runbook.steps?.forEach((step, i) =>
      out.push({ step, path: ['runbooks', id, 'steps', i], owner: { kind: 'runbook', id } }),
    );
    runbook.phases?.forEach((phase, p) =>
      phase.steps.forEach((step, i) =>
        out.push({ step, path: ['runbooks', id, 'phases', p, 'steps', i], owner: { kind: 'runbook', id } }),
      ),
    );
  }
  for (const [id, drill] of Object.entries(plan.drills ?? {})) {
    drill.procedure?.forEach((step, i) =>
      out.push({ step, path: ['drills', id, 'procedure', i], owner: { kind: 'drill', id } }),
    );
  }
  return out;
}

export const entries = <T>(record: Record<string, T> | undefined): [string, T][] =>
  Object.entries(record ?? {});

export const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
