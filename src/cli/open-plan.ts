/** Loading the plan for commands that act on it: schema errors stop them, rule findings do not. */
import { PlanInvalidError } from '../errors.js';
import { loadPlanFile, planPath } from '../plan/load.js';
import { createProtectContext, type ContextOptions, type ProtectContext } from '../protect/context.js';
import { formatFinding } from './findings-output.js';
import { useInstanceRecordsHome } from '../system/instance-records.js';

export function openPlan(option: string | undefined, options: ContextOptions = {}): ProtectContext {
  const file = planPath(option);
  const loaded = loadPlanFile(file);
  const errors = loaded.findings.filter((f) => f.severity === 'error');
  if (!loaded.plan || errors.length > 0) {
    for (const finding of errors.slice(0, 10)) process.stderr.write(formatFinding(file, finding) + '\n');
    throw new PlanInvalidError(`the plan ${file} is not valid`, {
      hint: 'run `lifeboat plan check` and fix the errors',
    });
  }
  const context = createProtectContext(loaded, process.env, options);
  // Throwaway servers this command starts are recorded beside the plan's state.
  useInstanceRecordsHome(context.homeDir);
  return context;
}

/** Runs `work` with the context and always closes it (the state store), even on failure. */
export async function withPlan<T>(
  option: string | undefined,
  work: (context: ProtectContext) => Promise<T>,
  options: ContextOptions = {},
): Promise<T> {
  const context = openPlan(option, options);
  try {
    return await work(context);
  } finally {
    await context.close();
  }
}
