/**
 * Where a drill's writer connects: the endpoint the dataset's clients use, which the plan
 * gives on its traffic switch (replication.traffic). `client_url` says it for any type of
 * switch; a pgbouncer switch without it is reached where its admin console listens, as that
 * user, to its `database` entry. The writer measures what clients see, so without an
 * endpoint there is no drill.
 */
import { UsageError } from '../errors.js';
import { resolveSecret } from '../plan/secret.js';
import type { ProtectContext } from '../protect/context.js';

export interface ClientEndpoint {
  /** A libpq URL with one host. */
  url: string;
  /** The `traffic` key it came from. */
  traffic: string;
  /** Where the URL came from, for hints: `traffic.KEY.client_url` or pgbouncer's admin_url. */
  from: string;
}

export interface ClientEndpointInput {
  dataset: string;
  /** replication.traffic of the dataset. */
  traffic: string | undefined;
  /** The dataset's source URL: its database is pgbouncer's default entry. */
  sourceUrl: string;
  /** What the drill is, for messages: `the failover drill of users`. */
  drill: string;
}

/** Reads the plan only; throws UsageError saying which field to write. */
export function clientEndpoint(context: ProtectContext, input: ClientEndpointInput): ClientEndpoint {
  const field = `datasets.${input.dataset}.replication.traffic`;
  const example =
    'traffic.NAME: { type: haproxy, client_url: postgres://app@proxy:5000/app } (any type; or a pgbouncer switch, whose admin_url and database give it)';
  if (input.traffic === undefined)
    throw new UsageError(
      `${input.drill} writes through the clients' endpoint, and the plan names no traffic switch`,
      { hint: `Set ${field} to a switch that gives it, e.g. ${example}; nothing was changed.` },
    );
  const at = `traffic.${input.traffic}`;
  const config = context.plan.traffic?.[input.traffic];
  if (config?.client_url) {
    const url = resolveSecret(config.client_url, context.planDir, context.env);
    checkOneHost(url, `${at}.client_url`);
    return { url, traffic: input.traffic, from: `${at}.client_url` };
  }
  if (config?.type !== 'pgbouncer')
    throw new UsageError(
      `${input.drill} needs the clients' endpoint, and ${at} (${config?.type ?? 'undeclared'}) has no client_url`,
      {
        hint: `Set ${at}.client_url to the URL the clients connect to (credentials via env: or file:), e.g. ${example}; nothing was changed.`,
      },
    );
  const admin = new URL(
    config.admin_url
      ? resolveSecret(config.admin_url, context.planDir, context.env)
      : 'postgres://postgres@127.0.0.1:6432/pgbouncer',
  );
  return {
    url: withDatabase(admin.href, config.database ?? databaseOf(input.sourceUrl)),
    traffic: input.traffic,
    from: `${at}.admin_url with its database`,
  };
}

/**
 * The writer is node-postgres, which connects to one host: a multi-host libpq URL
 * (`host1:5432,host2:5432` with target_session_attrs) would fail on every connection, so it
 * is refused with what to write instead.
 */
function checkOneHost(url: string, field: string): void {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^/?#]*)/i.exec(url)?.[1] ?? '';
  const hostParams = new URLSearchParams(url.split('?')[1] ?? '').get('host') ?? '';
  if (authority.includes(',') || hostParams.includes(','))
    throw new UsageError(`${field} names several hosts: the drill's writer connects to one`, {
      hint: "Give the address of a proxy that follows the primary (HAProxy checking Patroni's /primary, pgbouncer), e.g. postgres://app@proxy:5000/app; nothing was changed.",
    });
  try {
    new URL(url);
  } catch (cause) {
    throw new UsageError(`${field} is not a libpq URL`, {
      hint: 'Write it as postgres://USER@HOST:PORT/DATABASE (the password via env: or file:); nothing was changed.',
      cause,
    });
  }
}

export function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres';
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.href;
}
