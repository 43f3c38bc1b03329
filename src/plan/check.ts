/** `plan check` as a function: load, validate, run the rules, split errors from warnings. */
import { sortFindings, type Finding } from './findings.js';
import { loadPlanFile, type LoadedPlan } from './load.js';
import { runRules } from './rules/index.js';

export interface CheckResult {
  loaded: LoadedPlan;
  errors: Finding[];
  warnings: Finding[];
  /** What the plan means for Lifeboat, e.g. the sections it does not execute yet. */
  info: Finding[];
}

export function checkLoadedPlan(loaded: LoadedPlan, now: Date = new Date()): CheckResult {
  const findings = sortFindings([...loaded.findings, ...runRules(loaded, now)]);
  return {
    loaded,
    errors: findings.filter((f) => f.severity === 'error'),
    warnings: findings.filter((f) => f.severity === 'warning'),
    info: findings.filter((f) => f.severity === 'info'),
  };
}

export function checkPlanFile(file: string, now?: Date): CheckResult {
  return checkLoadedPlan(loadPlanFile(file), now);
}
