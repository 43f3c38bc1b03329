/**
 * lifeboat doctor: is this machine ready to run the plan? Tools, repositories, sources, the
 * state store, each with what to do. Exit 0 when every check passed, 3 (environment) when
 * one failed. Without a plan file it still checks the tools, and says the plan is missing.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ExitCode } from '../../errors.js';
import { loadPlanFile, planPath } from '../../plan/load.js';
import { runDoctor, type DoctorCheck } from '../../doctor/index.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { useInstanceRecordsHome } from '../../system/instance-records.js';

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs('doctor', args, {}, '[--plan FILE] [--json]', { positionals: 0 });
  const file = planPath(parsed.string('plan'));
  const loaded = existsSync(file) ? loadPlanFile(file) : undefined;
  // Where that plan's commands record their throwaway servers, for the check of leftovers.
  if (loaded) useInstanceRecordsHome(resolve(process.env.LIFEBOAT_HOME ?? join(dirname(file), '.lifeboat')));
  const checks = await runDoctor({ file, loaded });
  const ok = checks.every((c) => c.ok);
  if (parsed.flag('json')) process.stdout.write(JSON.stringify({ ok, plan: file, checks }, null, 2) + '\n');
  else process.stdout.write(formatChecks(checks));
  return ok ? ExitCode.ok : ExitCode.environment;
}

/** The text report: one line per check, its fix below it, a summary at the end. */
export function formatChecks(checks: DoctorCheck[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines: string[] = [];
  for (const check of checks) {
    const mark = !check.ok ? 'FAIL' : check.warning ? 'warn' : 'ok';
    lines.push(`${mark.padEnd(4)}  ${check.name.padEnd(width)}  ${check.detail}`);
    if (check.fix && (!check.ok || check.warning)) lines.push(`${' '.repeat(width + 8)}fix: ${check.fix}`);
  }
  const failed = checks.filter((c) => !c.ok).length;
  const warnings = checks.filter((c) => c.ok && c.warning).length;
  lines.push(
    '',
    failed === 0
      ? `all ${checks.length} checks passed${warnings ? ` (${warnings} warning${warnings > 1 ? 's' : ''})` : ''}`
      : `${failed} of ${checks.length} checks failed${warnings ? `, ${warnings} warning${warnings > 1 ? 's' : ''}` : ''}`,
  );
  return lines.join('\n') + '\n';
}
