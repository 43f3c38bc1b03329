/**
 * lifeboat standby create DATASET --to DIR [--port N] [--name NAME] [--sync|--async]: builds
 * a streaming standby of the dataset's primary on this host (pg_basebackup into DIR, a
 * replication slot, started with pg_ctl), synchronous when the plan's RPO of 0 asks for it,
 * and prints its URL, its lag and the lines that name it in the plan. The work is
 * createDatasetStandby's.
 */
import { resolve } from 'node:path';
import { ExitCode, RefusedError, UsageError } from '../../errors.js';
import { createDatasetStandby } from '../../respond/standby-create.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { confirmTyped } from '../confirm.js';
import { formatBytes, formatSeconds } from '../format.js';
import { withPlan } from '../open-plan.js';

const usage = 'DATASET --to DIR [--port N] [--name NAME] [--sync|--async] [--yes] [--json] [--plan FILE]';

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'standby create',
    args,
    {
      to: { type: 'string', short: 't' },
      port: { type: 'string' },
      name: { type: 'string' },
      sync: { type: 'boolean' },
      async: { type: 'boolean' },
      yes: { type: 'boolean', short: 'y' },
    },
    usage,
  );
  const json = parsed.flag('json');
  const [dataset, ...extra] = parsed.positionals;
  const to = parsed.string('to');
  if (dataset === undefined || extra.length > 0 || to === undefined)
    throw new UsageError(
      to === undefined
        ? 'standby create: --to is required: the new data directory of the standby, on this host'
        : 'standby create: name one dataset',
      { hint: `usage: lifeboat standby create ${usage}` },
    );
  if (parsed.flag('sync') && parsed.flag('async'))
    throw new UsageError('standby create: --sync and --async exclude each other');
  const port = parsed.string('port') === undefined ? undefined : Number(parsed.string('port'));
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw new UsageError(`standby create: --port must be a TCP port, not "${parsed.string('port')}"`);

  return withPlan(parsed.string('plan'), async (context) => {
    const { standby, primary, passwordWithheld } = await createDatasetStandby(context, dataset, {
      dataDir: resolve(to),
      ...(port === undefined ? {} : { port }),
      ...(parsed.string('name') === undefined ? {} : { name: parsed.string('name')! }),
      ...(parsed.flag('sync') ? { sync: true } : parsed.flag('async') ? { sync: false } : {}),
      confirmSync: ({ name, primary, rpoSeconds }) =>
        confirmTyped({
          expected: dataset,
          yes: parsed.flag('yes'),
          message:
            `${dataset}: the standby ${name} will be synchronous${rpoSeconds === 0 ? ' (the RPO is 0)' : ''}: ` +
            `synchronous_standby_names is set on the primary ${primary}, and from then on every commit there waits until ${name} has it.`,
        }).catch((error: unknown) => {
          throw error instanceof RefusedError
            ? new RefusedError(
                `a synchronous standby makes every commit on ${primary} wait for it: ${error.message}`,
                {
                  hint: 'Confirm with --yes (or choose --async); nothing was changed.',
                  cause: error,
                },
              )
            : error;
        }),
    });
    if (json) process.stdout.write(JSON.stringify(standby, null, 2) + '\n');
    else
      process.stdout.write(
        [
          `${dataset}: standby ${standby.name} streams from ${primary} (${standby.lag.syncState})`,
          `  url:            ${standby.url}`,
          `  data directory: ${standby.dataDir}`,
          `  lag:            ${formatBytes(standby.lag.bytes)} / ${formatSeconds(standby.lag.seconds)}`,
          ...standby.wrote.map(
            (file) => `  wrote ${file}: the primary keeps its own outside its data directory; review it`,
          ),
          `Name it in the plan${passwordWithheld ? ' (the url with its password goes in STANDBY_URL)' : ''}:`,
          ...standby.plan.split('\n').map((line) => `  ${line}`),
          '',
        ].join('\n'),
      );
    return ExitCode.ok;
  });
}
