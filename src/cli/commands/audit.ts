/**
 * lifeboat audit [--since WHEN] [--action A] [--dataset ID] [--limit N] [--json]: the audit
 * log read back, newest first: who did what to which dataset, and how it ended.
 */
import { ExitCode, UsageError } from '../../errors.js';
import { parseDuration } from '../../plan/duration.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { table } from '../format.js';
import { withPlan } from '../open-plan.js';

const usage = '[--since DURATION|TIME] [--action ACTION] [--dataset ID] [--limit N] [--plan FILE] [--json]';

/** `--since 24h` (that long ago) or an ISO 8601 time. */
export function sinceOf(value: string | undefined, now: Date): string | undefined {
  if (value === undefined) return undefined;
  const seconds = parseDuration(value);
  if (seconds !== undefined) return new Date(now.getTime() - seconds * 1000).toISOString();
  const at = Date.parse(value);
  if (Number.isNaN(at) || !/^\d{4}-\d{2}-\d{2}/.test(value))
    throw new UsageError(`audit: --since takes a duration (24h, 7d) or an ISO time, not "${value}"`);
  return new Date(at).toISOString();
}

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'audit',
    args,
    {
      since: { type: 'string' },
      action: { type: 'string' },
      dataset: { type: 'string' },
      limit: { type: 'string' },
    },
    usage,
  );
  if (parsed.positionals.length > 0)
    throw new UsageError(`audit: unexpected argument "${parsed.positionals[0]}"`, {
      hint: `usage: lifeboat audit ${usage}`,
    });
  const limitText = parsed.string('limit') ?? '50';
  const limit = Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
    throw new UsageError(`audit: --limit takes a whole number from 1 to 100000, not "${limitText}"`);
  const since = sinceOf(parsed.string('since'), new Date());
  return withPlan(parsed.string('plan'), async (context) => {
    const dataset = parsed.string('dataset');
    if (dataset !== undefined) context.dataset(dataset);
    const entries = await (
      await context.state()
    ).listAudit({
      limit,
      ...(since === undefined ? {} : { since }),
      ...(parsed.string('action') === undefined ? {} : { action: parsed.string('action')! }),
      ...(dataset === undefined ? {} : { target: `dataset:${dataset}` }),
    });
    if (parsed.flag('json')) {
      process.stdout.write(JSON.stringify({ entries }, null, 2) + '\n');
      return ExitCode.ok;
    }
    if (entries.length === 0) {
      process.stdout.write('no audit entries match\n');
      return ExitCode.ok;
    }
    process.stdout.write(
      table(
        ['AT', 'ACTOR', 'ACTION', 'TARGET', 'OUTCOME', 'DETAILS'],
        entries.map((e) => [
          e.at.replace(/\.\d+Z$/, 'Z'),
          e.actor,
          e.action,
          e.target ?? '-',
          e.outcome,
          summary(e.details),
        ]),
      ),
    );
    return ExitCode.ok;
  });
}

/** The details on one line, cut so that the table stays readable; --json has them whole. */
function summary(details: unknown): string {
  if (details === null || details === undefined) return '';
  const text = JSON.stringify(details);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
