/**
 * lifeboat incident open|update|resolve|list: the incident lifecycle from the command line,
 * on the plan's state store directly, through the same engine as `lifeboat up`'s API.
 */
import { ExitCode, UsageError } from '../../errors.js';
import { listIncidents, openIncident, resolveIncident, updateIncident } from '../../incidents/lifecycle.js';
import {
  INCIDENT_STATUSES,
  IncidentCreate,
  IncidentUpdateCreate,
  type Incident,
} from '../../incidents/schemas.js';
import { actor } from '../../protect/audit.js';
import { parseCommandArgs, type ParsedArgs } from '../args.js';
import type { CommandContext, CommandModule } from '../command.js';
import { table } from '../format.js';
import { withPlan } from '../open-plan.js';

const out = (text: string) => process.stdout.write(text);
const message = {
  type: 'string',
  value: 'TEXT',
  help: 'what readers of the status page are told. Required',
} as const;

/** The same zod schema as the API's, so that both refuse the same input in the same words. */
function checked<T>(
  command: string,
  result:
    | { success: true; data: T }
    | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } },
): T {
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new UsageError(
    `${command}: ${issue?.path.map(String).join('.') || 'input'}: ${issue?.message ?? 'not valid'}`,
  );
}

function print(parsed: ParsedArgs, incident: Incident): number {
  if (parsed.flag('json')) out(JSON.stringify(incident, null, 2) + '\n');
  else {
    const last = incident.updates.at(-1);
    out(`incident ${incident.id}: ${incident.title} [${incident.status}, impact ${incident.impact}]\n`);
    if (last) out(`  ${last.createdAt} ${last.status}: ${last.message}\n`);
  }
  return ExitCode.ok;
}

function required(parsed: ParsedArgs, command: string, name: string): string {
  const value = parsed.string(name);
  if (value === undefined)
    throw new UsageError(`${command}: --${name} is required`, { hint: `lifeboat ${command} --help` });
  return value;
}

function idOf(parsed: ParsedArgs, command: string): string {
  const id = parsed.positionals[0];
  if (id === undefined)
    throw new UsageError(`${command}: which incident? give its ID`, {
      hint: 'lifeboat incident list shows them',
    });
  return id;
}

export const open: CommandModule = {
  async run(args: string[], _context: CommandContext) {
    const command = 'incident open';
    const parsed = parseCommandArgs(
      command,
      args,
      {
        title: { type: 'string', value: 'TEXT', help: 'what the status page shows. Required' },
        message,
        status: { type: 'enum', values: INCIDENT_STATUSES, help: 'Default: investigating' },
        service: {
          type: 'string',
          value: 'ID',
          multiple: true,
          help: "an affected service (the plan's id); repeat for several. Default: none",
        },
        impact: {
          type: 'enum',
          values: ['none', 'minor', 'major', 'critical'],
          help: "Default: from the services' highest priority (critical → critical, high → major, else minor)",
        },
      },
      '--title TEXT --message TEXT [--status S] [--service ID]... [--impact I] [--plan FILE] [--json]',
      { positionals: 0 },
    );
    const services = parsed.values.service;
    const input = checked(
      command,
      IncidentCreate.safeParse({
        title: required(parsed, command, 'title'),
        message: required(parsed, command, 'message'),
        ...(parsed.string('status') === undefined ? {} : { status: parsed.string('status') }),
        ...(Array.isArray(services) ? { services } : {}),
        ...(parsed.string('impact') === undefined ? {} : { impact: parsed.string('impact') }),
      }),
    );
    return withPlan(parsed.string('plan'), async (context) =>
      print(parsed, await openIncident({ state: await context.state(), plan: context.plan }, input, actor())),
    );
  },
};

export const update: CommandModule = {
  async run(args: string[], _context: CommandContext) {
    const command = 'incident update';
    const parsed = parseCommandArgs(
      command,
      args,
      { status: { type: 'enum', values: INCIDENT_STATUSES, help: 'the new status. Required' }, message },
      'ID --status S --message TEXT [--plan FILE] [--json]',
      { positionals: 1 },
    );
    const id = idOf(parsed, command);
    const input = checked(
      command,
      IncidentUpdateCreate.safeParse({
        status: required(parsed, command, 'status'),
        message: required(parsed, command, 'message'),
      }),
    );
    return withPlan(parsed.string('plan'), async (context) =>
      print(
        parsed,
        await updateIncident({ state: await context.state(), plan: context.plan }, id, input, actor()),
      ),
    );
  },
};

export const resolve: CommandModule = {
  async run(args: string[], _context: CommandContext) {
    const command = 'incident resolve';
    const parsed = parseCommandArgs(command, args, { message }, 'ID --message TEXT [--plan FILE] [--json]', {
      positionals: 1,
    });
    const id = idOf(parsed, command);
    const text = required(parsed, command, 'message');
    return withPlan(parsed.string('plan'), async (context) =>
      print(
        parsed,
        await resolveIncident({ state: await context.state(), plan: context.plan }, id, text, actor()),
      ),
    );
  },
};

export const list: CommandModule = {
  async run(args: string[], _context: CommandContext) {
    const parsed = parseCommandArgs(
      'incident list',
      args,
      { open: { type: 'boolean', help: 'only unresolved incidents. Default: all' } },
      '[--open] [--plan FILE] [--json]',
      { positionals: 0 },
    );
    return withPlan(parsed.string('plan'), async (context) => {
      const incidents = await listIncidents(
        { state: await context.state() },
        parsed.flag('open') ? { open: true } : {},
      );
      if (parsed.flag('json')) out(JSON.stringify({ incidents }, null, 2) + '\n');
      else if (incidents.length === 0) out('no incidents\n');
      else
        out(
          table(
            ['ID', 'STATUS', 'IMPACT', 'OPENED', 'RESOLVED', 'TITLE'],
            incidents.map((i) => [i.id, i.status, i.impact, i.createdAt, i.resolvedAt ?? '-', i.title]),
          ),
        );
      return ExitCode.ok;
    });
  },
};
