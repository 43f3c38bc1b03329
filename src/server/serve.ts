/**
 * `lifeboat up`'s server, started from a plan: one server per state store (a lease, as the
 * scheduler holds one), the app listening, the dataset metrics computed on scrapes. `close`
 * stops accepting, lets requests in flight finish, then frees the lease; the caller closes
 * the state store.
 */
import { coerceError, EnvironmentError, LifeboatError, RefusedError } from '../errors.js';
import { cachedValue } from '../metrics/cached-status.js';
import { collectStatus } from '../metrics/collect-status.js';
import { datasetMetrics } from '../metrics/dataset-metrics.js';
import type { ProtectContext } from '../protect/context.js';
import { acquireLease, type HeldLease } from '../protect/scheduler-lease.js';
import { slug } from '../protect/tags.js';
import { startResponder } from '../incidents/responder.js';
import { buildApp } from './app.js';

export interface ServeOptions {
  host: string;
  port: number;
  publicUrl: string | null;
  version: string;
  /** One line for the operator: a 500's cause, a status that could not be computed. */
  log: (message: string) => void;
  /** Called once if the lease is lost (another server took over after it expired): stop. */
  onLeaseLost: (reason: string) => void;
  /** Run the plan's probes, open incidents from them and deliver notifications. Default: true. */
  respond?: boolean;
  /** How long a probe's incident stays in monitoring before it is resolved. Default: 5 minutes. */
  resolveAfterMs?: number;
}

export interface RunningServer {
  /** `http://HOST:PORT` (the port the system chose when 0 was asked). */
  url: string;
  /** Idempotent. */
  close(): Promise<void>;
}

/** The lease of the plan's server: keyed like the state store's records, by the plan's organization. */
export function serverLeaseName(organization: string): string {
  return `server:${slug(organization)}`;
}

export async function startServer(context: ProtectContext, options: ServeOptions): Promise<RunningServer> {
  const state = await context.state();
  const lease = await takeLease(context);
  try {
    const version = await state.recordPlanVersion({
      contentHash: context.loaded.contentHash,
      planPath: context.loaded.file,
      organization: context.plan.organization,
      documentVersion:
        context.plan.document?.version === undefined ? null : String(context.plan.document.version),
    });
    const status = cachedValue({
      collect: () => collectStatus(context),
      onFailure: (error) =>
        options.log(
          error
            ? `the dataset status could not be computed: ${describe(error)}`
            : 'the dataset status is slow to compute; /metrics serves the last one until it is done',
        ),
    });
    const app = await buildApp({
      state,
      plan: context.plan,
      publicUrl: options.publicUrl,
      since: version.firstSeenAt,
      version: options.version,
      datasetFamilies: async () => {
        const snapshot = await status.get();
        return snapshot ? datasetMetrics(snapshot) : [];
      },
      onError: (error) => options.log(`internal error answering a request: ${describe(error)}`),
    });
    try {
      await app.listen({ host: options.host, port: options.port });
    } catch (error) {
      await app.close();
      throw listenError(coerceError(error) as NodeJS.ErrnoException, options);
    }
    const responder =
      options.respond === false
        ? undefined
        : startResponder({
            plan: context.plan,
            planDir: context.planDir,
            state,
            env: context.env,
            log: options.log,
            ...(options.resolveAfterMs === undefined ? {} : { resolveAfterMs: options.resolveAfterMs }),
          });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host}:${port}`,
      close: () =>
        (closing ??= (async () => {
          await responder?.stop();
          await app.close();
          await status.settle();
          await lease.release();
        })()),
    };
  } catch (error) {
    await lease.release();
    throw error;
  }

  async function takeLease(ctx: ProtectContext): Promise<HeldLease> {
    try {
      return await acquireLease(state, {
        name: serverLeaseName(ctx.plan.organization),
        description: `lifeboat up --plan ${ctx.loaded.file}`,
        onLost: options.onLeaseLost,
      });
    } catch (error) {
      if (!(error instanceof RefusedError)) throw error;
      const holder = (error.details?.holder ?? {}) as { pid?: number; hostname?: string; since?: string };
      throw new RefusedError(
        `another lifeboat up already serves this plan's state store ${state.location} (pid ${holder.pid} on host ${holder.hostname}, since ${holder.since})`,
        {
          hint: `one server per state store: stop that one first (kill ${holder.pid} on ${holder.hostname}), or use it; if it has died, its lease expires within a minute`,
          details: error.details,
          cause: error,
        },
      );
    }
  }
}

function describe(error: unknown): string {
  const e = coerceError(error);
  return e instanceof LifeboatError ? e.message : (e.stack ?? e.message);
}

function listenError(error: NodeJS.ErrnoException, { host, port }: ServeOptions): Error {
  const where = `${host}:${port}`;
  const known: Record<string, [string, string]> = {
    EADDRINUSE: [`another process already listens on ${where}`, 'stop it, or give --port another port'],
    EACCES: [`this user may not listen on ${where}`, 'use a port above 1023, e.g. --port 8080'],
    EADDRNOTAVAIL: [
      `${host} is not an address of this machine`,
      'use 127.0.0.1, 0.0.0.0 or one of its own addresses',
    ],
    ENOTFOUND: [`${host} does not resolve`, 'use an IP address or a host name of this machine'],
  };
  const [what, hint] = known[error.code ?? ''] ?? [
    `cannot listen on ${where}: ${error.message}`,
    'check --host and --port',
  ];
  return new EnvironmentError(`up: ${what}`, { hint, cause: error });
}
