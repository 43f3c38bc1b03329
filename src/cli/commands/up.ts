/** lifeboat up: serve the status page, the incidents API and /metrics until SIGTERM or SIGINT. */
import { ExitCode, UsageError } from '../../errors.js';
import { startServer } from '../../server/serve.js';
import { parseCommandArgs } from '../args.js';
import type { CommandContext } from '../command.js';
import { withPlan } from '../open-plan.js';
import { ownShutdownUntilDone } from '../shutdown.js';
import { version } from '../version.js';

const USAGE = `[--port N] [--host H] [--public-url URL] [--no-probes] [--resolve-after DURATION] [--plan FILE] [--json]

Serves, until SIGTERM or SIGINT:
  /                     the status page (HTML, no JavaScript): the plan's services and incidents
  /history.atom         the incident history as an Atom feed
  /api/v2/*.json        Statuspage's public API: summary, status, components, incidents
  /api/v1/incidents     open, update, resolve and read incidents (writes need a bearer token:
                        lifeboat token create --role responder)
  /api/v1/openapi.json  the API as an OpenAPI 3.1 document
  /metrics              Prometheus: the datasets' status (as lifeboat run --metrics), open
                        incidents, HTTP requests
  /healthz              200 while the server and its state store answer

Also runs the plan's probes (results kept in the state store): a probe that goes down
opens an incident on the services that list it, which moves to monitoring when the probe
passes again and is resolved after --resolve-after (5m) up; incidents (from probes or the API) are
notified as the plan's stakeholders say, through an outbox that survives restarts.
--no-probes serves the page and the API only.
Not run by up yet: the backup scheduler (run \`lifeboat run\` beside it); the status page
shows no uptime bars yet.
One server per state store: a second one exits 4, naming the first. SIGTERM or SIGINT stops
accepting connections, lets requests in flight finish, closes the state store; exit 0.`;

export async function run(args: string[], _context: CommandContext): Promise<number> {
  const parsed = parseCommandArgs(
    'up',
    args,
    {
      port: {
        type: 'integer',
        value: 'N',
        min: 0,
        max: 65535,
        help: 'TCP port; 0 picks a free one. Default: 8080',
      },
      host: {
        type: 'string',
        value: 'H',
        help: 'address to listen on (0.0.0.0: every interface). Default: 127.0.0.1',
      },
      'resolve-after': {
        type: 'duration',
        value: 'DURATION',
        help: "how long a probe's incident stays in monitoring, the probe passing, before it is resolved. Default: 5m",
      },
      'no-probes': {
        type: 'boolean',
        help: 'do not run probes, open incidents from them or deliver notifications',
      },
      'public-url': {
        type: 'string',
        value: 'URL',
        help: 'where readers reach the page (https://status.example.com), for links in the\nfeed and the JSON API. Default: none (links relative to the address asked)',
      },
    },
    USAGE,
    { positionals: 0 },
  );
  const publicUrl = checkedUrl(parsed.string('public-url'));
  const json = parsed.flag('json');
  const say = (event: string, message: string, extra: Record<string, unknown> = {}) =>
    process.stdout.write(
      json
        ? JSON.stringify({ at: new Date().toISOString(), event, message, ...extra }) + '\n'
        : `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} ${message}\n`,
    );
  return withPlan(parsed.string('plan'), async (context) => {
    const leaseLost = new AbortController();
    const server = await startServer(context, {
      host: parsed.string('host') ?? '127.0.0.1',
      port: parsed.number('port') ?? 8080,
      publicUrl,
      version: version(),
      respond: !parsed.flag('no-probes'),
      ...(parsed.number('resolve-after') === undefined
        ? {}
        : { resolveAfterMs: parsed.number('resolve-after')! * 1000 }),
      log: (message) => say('error', message),
      onLeaseLost: (reason) => {
        say('error', `${reason}; stopping`);
        leaseLost.abort();
      },
    });
    const stop = ownShutdownUntilDone((signal, first) =>
      say('stopping', first ? `${signal} received: stopping` : `${signal} again: already stopping`),
    );
    try {
      say(
        'listening',
        `serving ${server.url}/ (status page), ${server.url}/api/v1/openapi.json, ${server.url}/metrics`,
        {
          url: server.url,
        },
      );
      const stopped = AbortSignal.any([stop.signal, leaseLost.signal]);
      await new Promise<void>((resolve) => {
        if (stopped.aborted) resolve();
        stopped.addEventListener('abort', () => resolve(), { once: true });
      });
      await server.close();
      say('stopped', 'stopped');
      return leaseLost.signal.aborted ? ExitCode.refused : ExitCode.ok;
    } finally {
      stop.dispose();
      await server.close();
    }
  });
}

function checkedUrl(text: string | undefined): string | null {
  if (text === undefined) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`up: --public-url takes an absolute URL, not '${text}'`, {
      hint: 'for example --public-url https://status.example.com',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`up: --public-url takes an http or https URL, not '${text}'`);
  return text.replace(/\/+$/, '');
}
