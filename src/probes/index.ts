/**
 * The probe registry: from a plan's `probes.<id>` to a Probe of its kind, with the schedule the
 * runner keeps. The only place that knows every probe kind (`factories`).
 */
import { UsageError } from '../errors.js';
import { parseDuration } from '../plan/duration.js';
import type { Plan, Probe as ProbeConfig } from '../plan/schema.js';
import { resolveSecret } from '../plan/secret.js';
import { commandProbe } from './command.js';
import { dnsProbe } from './dns.js';
import { httpProbe, type HttpProbeOptions } from './http.js';
import { manualProbe } from './manual.js';
import { mysqlProbe } from './mysql.js';
import { postgresProbe } from './postgres.js';
import type { Probe, ProbeContext } from './probe.js';
import { redisProbe } from './redis.js';
import { tcpProbe } from './tcp.js';

export type { Probe, ProbeContext, ProbeDetails, ProbeKind, ProbeResult } from './probe.js';
export type { ManualProbe } from './manual.js';

/** A probe and the schedule the runner keeps for it. */
export interface ScheduledProbe {
  readonly probe: Probe;
  /** Between the starts of two checks. Plan: `every`, default 30 s; at least 1 s. */
  readonly intervalMs: number;
  /** A check still running after this is aborted and counts as failed. Plan: `timeout`, default 5 s. */
  readonly timeoutMs: number;
  /** Consecutive failures before the probe is down. Plan: `failures`, default 3. */
  readonly failures: number;
  /** Consecutive successes before a down probe is up again. Default: 2 (one lucky answer is not a recovery). */
  readonly successes: number;
}

export const PROBE_DEFAULTS = { intervalMs: 30_000, timeoutMs: 5_000, failures: 3, successes: 2 } as const;
const MIN_INTERVAL_MS = 1_000;

export interface ProbeBuildOptions {
  /** For HTTPS probes: extra certificate authorities to trust. Default: the system's only. */
  http?: HttpProbeOptions;
  /** Consecutive successes before up again, for every probe. Default: 2. */
  successes?: number;
}

/** Every probe of the plan, built and scheduled. Throws UsageError naming the first bad one. */
export function probesFromPlan(
  plan: Plan,
  context: ProbeContext,
  options: ProbeBuildOptions = {},
): ScheduledProbe[] {
  return Object.entries(plan.probes ?? {}).map(([id, config]) =>
    scheduleProbe(plan, id, config, context, options),
  );
}

export function scheduleProbe(
  plan: Plan,
  id: string,
  config: ProbeConfig,
  context: ProbeContext,
  options: ProbeBuildOptions = {},
): ScheduledProbe {
  const intervalMs = millis(config.every, PROBE_DEFAULTS.intervalMs, `probes.${id}.every`);
  if (intervalMs < MIN_INTERVAL_MS)
    throw new UsageError(`probes.${id}.every is ${config.every}; a probe runs at most once a second`, {
      hint: 'Set every: 1s or more.',
    });
  const timeoutMs = millis(config.timeout, PROBE_DEFAULTS.timeoutMs, `probes.${id}.timeout`);
  if (timeoutMs <= 0)
    throw new UsageError(`probes.${id}.timeout must be more than 0`, { hint: 'e.g. timeout: 5s' });
  return {
    probe: createProbe(plan, id, config, context, timeoutMs, options),
    intervalMs,
    timeoutMs,
    failures: config.failures ?? PROBE_DEFAULTS.failures,
    successes: options.successes ?? PROBE_DEFAULTS.successes,
  };
}

/** What builds a probe of one kind; one entry per kind of the plan's schema, so a new kind does not compile until it is added here. */
type ProbeFactory<K extends ProbeConfig['type']> = (build: {
  plan: Plan;
  id: string;
  config: Extract<ProbeConfig, { type: K }>;
  context: ProbeContext;
  timeoutMs: number;
  options: ProbeBuildOptions;
}) => Probe;

const factories: { [K in ProbeConfig['type']]: ProbeFactory<K> } = {
  http: ({ id, config, context, options }) => httpProbe(id, config, context, options.http),
  tcp: ({ id, config }) => tcpProbe(id, config),
  dns: ({ id, config }) => dnsProbe(id, config),
  command: ({ id, config, context, timeoutMs }) => commandProbe(id, config, context, timeoutMs),
  manual: ({ id }) => manualProbe(id),
  postgres: ({ plan, id, config, context, timeoutMs }) =>
    postgresProbe(id, { url: storeUrl(plan, id, config, context), lag: lagAsked(plan, config) }, timeoutMs),
  mysql: ({ plan, id, config, context, timeoutMs }) =>
    mysqlProbe(id, storeUrl(plan, id, config, context), timeoutMs),
  redis: ({ plan, id, config, context, timeoutMs }) =>
    redisProbe(id, storeUrl(plan, id, config, context), timeoutMs),
};

export function createProbe(
  plan: Plan,
  id: string,
  config: ProbeConfig,
  context: ProbeContext,
  timeoutMs: number,
  options: ProbeBuildOptions = {},
): Probe {
  const factory = factories[config.type] as ProbeFactory<typeof config.type>;
  return factory({ plan, id, config, context, timeoutMs, options });
}

type StoreProbeConfig = Extract<ProbeConfig, { type: 'postgres' | 'mysql' | 'redis' }>;

/** The probe's own url, else its dataset's source url; secrets resolved. */
function storeUrl(plan: Plan, id: string, config: StoreProbeConfig, context: ProbeContext): string {
  if (config.url !== undefined) return resolveSecret(config.url, context.planDir, context.env);
  if (config.dataset === undefined)
    throw new UsageError(`probes.${id} names neither a url nor a dataset`, {
      hint: `Add url: (a ${config.type} URL, credentials via env:) or dataset: (a key of datasets).`,
    });
  const source = plan.datasets?.[config.dataset]?.source;
  if (!source) throw new UsageError(`probes.${id}.dataset: there is no dataset ${config.dataset}`);
  if (source.type !== config.type || !('url' in source))
    throw new UsageError(
      `probes.${id} is a ${config.type} probe, but dataset ${config.dataset} is ${source.type}`,
      {
        hint: `Point it at a ${config.type} dataset, or give it a url.`,
      },
    );
  return resolveSecret(source.url, context.planDir, context.env);
}

/** Lag is measured when the probe's dataset is replicated: the plan then cares about it. */
function lagAsked(plan: Plan, config: StoreProbeConfig): boolean {
  return config.dataset !== undefined && plan.datasets?.[config.dataset]?.replication !== undefined;
}

function millis(text: string | undefined, fallback: number, field: string): number {
  if (text === undefined) return fallback;
  const seconds = parseDuration(text);
  if (seconds === undefined)
    throw new UsageError(`${field} is not a duration: ${text}`, { hint: 'e.g. 30s' });
  return Math.round(seconds * 1000);
}
