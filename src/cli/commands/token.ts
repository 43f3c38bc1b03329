/**
 * lifeboat token create|list|revoke: the bearer tokens of `lifeboat up`'s API, kept in the
 * plan's state store (hashed: the token is printed once, at creation, and never again).
 */
import { ExitCode, UsageError } from '../../errors.js';
import { actor } from '../../protect/audit.js';
import { TOKEN_ROLES, createToken, revokeToken } from '../../server/tokens.js';
import type { TokenRole } from '../../state/incidents-store.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext, CommandModule } from '../command.js';
import { table } from '../format.js';
import { withPlan } from '../open-plan.js';

const out = (text: string) => process.stdout.write(text);

export const create: CommandModule = {
  async run(args: string[], _context: CommandContext) {
    const parsed = parseCommandArgs(
      'token create',
      args,
      {
        role: {
          type: 'enum',
          values: TOKEN_ROLES,
          help: 'viewer: reads only; responder: opens and updates incidents; admin: all of it. Required',
        },
        name: { type: 'string', value: 'N', help: 'what it is for, e.g. the CI job. Default: "ROLE token"' },
        expires: {
          type: 'duration',
          value: 'DURATION',
          help: 'lifetime, e.g. 90d or 12h. Default: never expires',
        },
      },
      `--role viewer|responder|admin [--name N] [--expires 90d] [--plan FILE] [--json]

Prints the token once: keep it in a secret store. Lifeboat keeps only its SHA-256.`,
      { positionals: 0 },
    );
    const role = parsed.string('role') as TokenRole | undefined;
    if (role === undefined)
      throw new UsageError('token create: --role is required', {
        hint: 'lifeboat token create --role responder (viewer, responder or admin)',
      });
    return withPlan(parsed.string('plan'), async (context) => {
      const { token, record } = await createToken(await context.state(), {
        role,
        name: parsed.string('name'),
        expiresInSeconds: parsed.number('expires'),
        actor: actor(),
      });
      if (parsed.flag('json')) out(JSON.stringify({ token, ...record }, null, 2) + '\n');
      else
        out(
          `${token}\n\ntoken ${record.id} (${record.name}, role ${record.role}, ${record.expiresAt ? `expires ${record.expiresAt}` : 'never expires'}).\n` +
            'This is the only time it is shown; send it as `Authorization: Bearer TOKEN`.\n',
        );
      return ExitCode.ok;
    });
  },
};

export const list: CommandModule = {
  async run(args: string[], _context: CommandContext) {
    const parsed = parseCommandArgs('token list', args, {}, '[--plan FILE] [--json]', { positionals: 0 });
    return withPlan(parsed.string('plan'), async (context) => {
      const tokens = await (await context.state()).incidents.listTokens();
      if (parsed.flag('json')) out(JSON.stringify({ tokens }, null, 2) + '\n');
      else if (tokens.length === 0)
        out('no tokens; create one with `lifeboat token create --role responder`\n');
      else
        out(
          table(
            ['ID', 'NAME', 'ROLE', 'CREATED', 'EXPIRES', 'LAST USED', 'REVOKED'],
            tokens.map((t) => [
              t.id,
              t.name,
              t.role,
              t.createdAt,
              t.expiresAt ?? '-',
              t.lastUsedAt ?? '-',
              t.revokedAt ?? '-',
            ]),
          ),
        );
      return ExitCode.ok;
    });
  },
};

export const revoke: CommandModule = {
  async run(args: string[], _context: CommandContext) {
    const parsed = parseCommandArgs('token revoke', args, {}, 'ID [--plan FILE] [--json]', {
      positionals: 1,
    });
    const id = parsed.positionals[0];
    if (id === undefined)
      throw new UsageError('token revoke: which token? give its ID', {
        hint: 'lifeboat token list shows them',
      });
    return withPlan(parsed.string('plan'), async (context) => {
      const record = await revokeToken(await context.state(), id, actor());
      if (parsed.flag('json')) out(JSON.stringify({ revoked: record }, null, 2) + '\n');
      else out(`token ${record.id} (${record.name}) revoked\n`);
      return ExitCode.ok;
    });
  },
};
