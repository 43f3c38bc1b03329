/** The rule registry and the runner that turns rule hits into positioned findings. */
import { formatPath, type Finding } from '../findings.js';
import type { LoadedPlan } from '../load.js';
import { placeholder, stakeholderUnreachable, unreachablePerson } from './contacts.js';
import { dependencyCycle, dependencyWithoutRto, rtoInversion } from './dependencies.js';
import { reviewOverdue } from './document.js';
import { notExecutedRule } from './execution.js';
import { flowComma } from './flow-comma.js';
import { objectiveMissing, scenarioServiceWithoutRto } from './objectives.js';
import { roleUnfilled, teamUnreachable } from './people.js';
import { repositoryEngine, repositoryUrl } from './repositories.js';
import {
  backupWithoutSource,
  datasetNotVerified,
  drillWithoutBackup,
  replicationLag,
  replicationOnly,
  rpoCadence,
  rpoNoMargin,
  rpoUnprotected,
} from './protection.js';
import { unknownReference } from './references.js';
import type { Rule } from './rule.js';
import { runbookEmpty, runbookUnused, stepAction, unknownInput } from './runbooks.js';
import {
  availabilityBudget,
  durationRange,
  scenarioExceedsRto,
  scenarioNotDrilled,
  scenarioWithoutRunbook,
} from './scenarios.js';
import { inlineSecret } from './secrets.js';
import { templatePlaceholder, templateVariable } from './templates.js';

export const rules: readonly Rule[] = [
  unknownReference,
  dependencyCycle,
  rtoInversion,
  dependencyWithoutRto,
  rpoUnprotected,
  rpoCadence,
  rpoNoMargin,
  replicationLag,
  replicationOnly,
  datasetNotVerified,
  backupWithoutSource,
  drillWithoutBackup,
  scenarioWithoutRunbook,
  scenarioNotDrilled,
  scenarioExceedsRto,
  availabilityBudget,
  durationRange,
  stepAction,
  runbookEmpty,
  runbookUnused,
  unknownInput,
  placeholder,
  unreachablePerson,
  stakeholderUnreachable,
  reviewOverdue,
  inlineSecret,
  templateVariable,
  templatePlaceholder,
  objectiveMissing,
  scenarioServiceWithoutRto,
  roleUnfilled,
  teamUnreachable,
  flowComma,
  repositoryEngine,
  repositoryUrl,
  notExecutedRule,
];

export function runRules(loaded: LoadedPlan, now: Date = new Date()): Finding[] {
  const plan = loaded.plan;
  if (!plan) return [];
  return rules.flatMap((rule) =>
    rule.check({ plan, now, yaml: loaded.positions.doc }).map((hit) => {
      const path = formatPath(hit.path);
      const at = loaded.positions.locate(hit.path, { key: hit.atKey ?? false });
      return {
        rule: rule.id,
        severity: rule.severity,
        path,
        message: path === '' ? hit.message : `${path}: ${hit.message}`,
        ...(at ?? {}),
        ...(hit.hint ? { hint: hit.hint } : {}),
      } satisfies Finding;
    }),
  );
}
