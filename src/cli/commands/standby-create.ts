/**
 * lifeboat standby create DATASET --to DIR [--port N] [--name NAME] [--sync|--async]: builds
 * a streaming standby of the dataset's primary on this host (pg_basebackup into DIR, a
 * replication slot, started with pg_ctl), synchronous when the plan's RPO of 0 asks for it,
 * and prints its URL, its lag and the lines that name it in the plan.
 */
import { resolve } from 'node:path';
import { ExitCode, RefusedError, UsageError } from '../../errors.js';
import { effectiveRpo } from '../../plan/graph.js';
import { actor } from '../../protect/audit.js';
import { datasetPrimary } from '../../respond/failover/plan-topology.js';
import { safeHost } from '../../stores/postgres/sql.js';
import { createStandbyIn } from '../../respond/failover/standby-host.js';
import { standbyIsSync, standbyLag } from '../../respond/failover/standby.js';
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
    const replication = context.dataset(dataset).replication ?? {};
    const rpo = effectiveRpo(context.plan, dataset);
    const sync = parsed.flag('sync') || (!parsed.flag('async') && standbyIsSync(replication, rpo));
    const name = parsed.string('name') ?? replication.standby_name ?? 'standby1';
    const primary = datasetPrimary(context, dataset);
    if (sync)
      await confirmTyped({
        expected: dataset,
        yes: parsed.flag('yes'),
        message:
          `${dataset}: the standby ${name} will be synchronous${rpo === 0 ? ' (the RPO is 0)' : ''}: ` +
          `synchronous_standby_names is set on the primary ${safeHost(primary.url)}, and from then on every commit there waits until ${name} has it.`,
      }).catch((error: unknown) => {
        throw error instanceof RefusedError
          ? new RefusedError(
              `a synchronous standby makes every commit on ${safeHost(primary.url)} wait for it: ${error.message}`,
              {
                hint: 'Confirm with --yes (or choose --async); nothing was changed.',
                cause: error,
              },
            )
          : error;
      });
    const standby = await createStandbyIn(primary, {
      name,
      dataDir: resolve(to),
      ...(port === undefined ? {} : { port }),
      sync,
    });
    const lag = await standbyLag(primary, standby.server);
    await (
      await context.state()
    ).appendAudit({
      actor: actor(),
      action: 'standby.create',
      target: `dataset:${dataset}`,
      outcome: 'ok',
      details: { name, address: safeHost(standby.url), dataDir: standby.dataDir, sync },
    });
    const shown = new URL(standby.url);
    const secret = shown.password !== '';
    shown.password = '';
    const snippet = [
      `datasets:`,
      `  ${dataset}:`,
      `    replication:`,
      `      standby: ${secret ? 'env:STANDBY_URL' : shown.toString()}`,
      `      standby_name: ${name}`,
      `      standby_data_dir: ${standby.dataDir}`,
      `      mode: ${sync ? 'sync' : 'async'}`,
    ];
    const result = {
      dataset,
      name,
      url: shown.toString(),
      dataDir: standby.dataDir,
      port: standby.port,
      sync,
      lag: { bytes: lag.bytes, seconds: lag.seconds, syncState: lag.syncState },
      wrote: standby.wrote,
      plan: snippet.join('\n'),
    };
    if (json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else
      process.stdout.write(
        [
          `${dataset}: standby ${name} streams from ${safeHost(primary.url)} (${lag.syncState})`,
          `  url:            ${result.url}`,
          `  data directory: ${standby.dataDir}`,
          `  lag:            ${formatBytes(lag.bytes)} / ${formatSeconds(lag.seconds)}`,
          ...standby.wrote.map(
            (file) => `  wrote ${file}: the primary keeps its own outside its data directory; review it`,
          ),
          `Name it in the plan${secret ? ' (the url with its password goes in STANDBY_URL)' : ''}:`,
          ...snippet.map((line) => `  ${line}`),
          '',
        ].join('\n'),
      );
    return ExitCode.ok;
  });
}
