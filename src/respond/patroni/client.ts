/**
 * A small client of Patroni's REST API (the member API every Patroni node serves, default port
 * 8008): the cluster as Patroni sees it, one member's health, and the switchover and failover
 * requests. Node's fetch, a deadline on every call, and errors that name the API and say what
 * to do. Written against Patroni 3.0 (what Debian 12 ships); later versions answer the same.
 */
import { z } from 'zod';
import { EnvironmentError } from '../../errors.js';

/** `standby_leader` leads a standby cluster; `sync_standby` is a synchronous replica. */
export type PatroniRole = 'leader' | 'standby_leader' | 'replica' | 'sync_standby' | (string & {});

export interface PatroniMember {
  name: string;
  role: PatroniRole;
  /** PostgreSQL as Patroni sees it: `running` (Patroni 3.0), `streaming` (later), `stopped`, `starting`... */
  state: string;
  host?: string;
  port?: number;
  timeline?: number;
  /** WAL bytes behind the leader's last reported position; null when Patroni does not know; absent on the leader. */
  lagBytes?: number | null;
  /** The member's own REST API, e.g. `http://10.0.0.2:8008` (without Patroni's `/patroni` suffix). */
  apiUrl?: string;
  tags: Record<string, unknown>;
}

export interface PatroniCluster {
  members: PatroniMember[];
  /** Maintenance mode: Patroni does not fail over by itself. */
  paused: boolean;
  scheduledSwitchover?: { at: string; from?: string | undefined; to?: string | undefined };
}

/** GET /patroni: the answering member's own view. */
export interface PatroniMemberStatus {
  state: string;
  /** `master` (Patroni 3.0) or `primary` (later), `replica`, `standby_leader`. */
  role: string;
  timeline?: number;
  serverVersion?: number;
  patroniVersion?: string;
  scope?: string;
}

/** The health endpoints: each answers 200 when true of the member, 503 otherwise. */
export type PatroniCheck = 'leader' | 'primary' | 'replica' | 'sync' | 'health';

export interface SwitchoverRequest {
  /** The current leader's name: Patroni refuses if it is not the leader any more. */
  leader: string;
  /** Default: Patroni picks the healthiest replica. */
  candidate?: string;
  /** ISO 8601 with a time zone: Patroni performs it then (202) instead of now. Default: now. */
  scheduledAt?: string;
}

export interface FailoverRequest {
  candidate: string;
}

/** Patroni's answer to a switchover or failover it accepted: 200 done, 202 scheduled, 503 not done (yet). */
export interface HandoverAnswer {
  status: number;
  /** Patroni's own words, e.g. `Successfully switched over to "node1"`. */
  text: string;
}

export interface PatroniClientOptions {
  /** Deadline for each GET. Default: 5000 ms. */
  timeoutMs?: number;
  /** Aborts any call in flight. Default: none. */
  signal?: AbortSignal;
}

export interface PatroniClient {
  /** The API's base URL without credentials, safe to print. */
  readonly url: string;
  cluster(): Promise<PatroniCluster>;
  status(): Promise<PatroniMemberStatus>;
  check(check: PatroniCheck): Promise<boolean>;
  /**
   * Patroni answers a switchover or failover only once it has happened or given up waiting
   * (about twice its loop_wait, at least 20 s), so these take their own deadline.
   */
  switchover(request: SwitchoverRequest, timeoutMs: number): Promise<HandoverAnswer>;
  failover(request: FailoverRequest, timeoutMs: number): Promise<HandoverAnswer>;
}

const ClusterSchema = z.looseObject({
  members: z.array(
    z.looseObject({
      name: z.string(),
      role: z.string(),
      state: z.string().optional(),
      api_url: z.string().optional(),
      host: z.string().optional(),
      port: z.number().optional(),
      timeline: z.number().optional(),
      lag: z.union([z.number(), z.string()]).optional(),
      tags: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
  pause: z.boolean().optional(),
  scheduled_switchover: z
    .looseObject({ at: z.string(), from: z.string().optional(), to: z.string().optional() })
    .optional(),
});

const StatusSchema = z.looseObject({
  state: z.string(),
  role: z.string(),
  timeline: z.number().optional(),
  server_version: z.number().optional(),
  patroni: z.looseObject({ version: z.string().optional(), scope: z.string().optional() }).optional(),
});

/** A client of the Patroni REST API at `url` (`http://host:8008`; `user:password@` for its basic auth). */
export function patroniClient(url: string, options: PatroniClientOptions = {}): PatroniClient {
  const api = parseApiUrl(url);
  const getTimeout = options.timeoutMs ?? 5000;

  const call = (method: 'GET' | 'POST', path: string, timeoutMs: number, body?: unknown) =>
    request(api, method, path, timeoutMs, options.signal, body);

  const handover = async (path: string, body: Record<string, unknown>, timeoutMs: number) => {
    const answer = await call('POST', path, timeoutMs, body);
    if (answer.status === 200 || answer.status === 202 || answer.status === 503) return answer;
    throw refusedByPatroni(api.display, path, answer, body);
  };

  return {
    url: api.display,
    async cluster() {
      const answer = await call('GET', '/cluster', getTimeout);
      const body = parseAnswer(api.display, '/cluster', answer, ClusterSchema);
      return {
        members: body.members.map((m) => ({
          name: m.name,
          role: m.role,
          state: m.state ?? '',
          ...(m.host !== undefined ? { host: m.host } : {}),
          ...(m.port !== undefined ? { port: m.port } : {}),
          ...(m.timeline !== undefined ? { timeline: m.timeline } : {}),
          ...(m.lag !== undefined ? { lagBytes: typeof m.lag === 'number' ? m.lag : null } : {}),
          ...(m.api_url ? { apiUrl: m.api_url.replace(/\/patroni\/?$/, '') } : {}),
          tags: m.tags ?? {},
        })),
        paused: body.pause === true,
        ...(body.scheduled_switchover ? { scheduledSwitchover: body.scheduled_switchover } : {}),
      };
    },
    async status() {
      // /patroni answers 200 even when PostgreSQL is down: the state field says so.
      const answer = await call('GET', '/patroni', getTimeout);
      const body = parseAnswer(api.display, '/patroni', answer, StatusSchema);
      return {
        state: body.state,
        role: body.role,
        ...(body.timeline !== undefined ? { timeline: body.timeline } : {}),
        ...(body.server_version !== undefined ? { serverVersion: body.server_version } : {}),
        ...(body.patroni?.version !== undefined ? { patroniVersion: body.patroni.version } : {}),
        ...(body.patroni?.scope !== undefined ? { scope: body.patroni.scope } : {}),
      };
    },
    async check(check) {
      const answer = await call('GET', `/${check}`, getTimeout);
      if (answer.status === 200) return true;
      if (answer.status === 503) return false;
      throw unexpectedAnswer(api.display, `/${check}`, answer);
    },
    switchover(req, timeoutMs) {
      return handover(
        '/switchover',
        {
          leader: req.leader,
          ...(req.candidate ? { candidate: req.candidate } : {}),
          ...(req.scheduledAt ? { scheduled_at: req.scheduledAt } : {}),
        },
        timeoutMs,
      );
    },
    failover(req, timeoutMs) {
      return handover('/failover', { candidate: req.candidate }, timeoutMs);
    },
  };
}

interface ApiUrl {
  base: string;
  /** Credentials never reach a message: fetch refuses them in the URL anyway. */
  display: string;
  authorization?: string;
}

function parseApiUrl(url: string): ApiUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new EnvironmentError(`the Patroni REST API URL "${url}" is not a URL`, {
      hint: 'Give it as http://HOST:PORT, the restapi.connect_address of a Patroni member (default port 8008).',
      cause,
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new EnvironmentError(`the Patroni REST API URL "${parsed.origin}" is not http or https`, {
      hint: 'Give it as http://HOST:PORT, the restapi.connect_address of a Patroni member (default port 8008).',
    });
  }
  const authorization =
    parsed.username || parsed.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`
      : undefined;
  parsed.username = '';
  parsed.password = '';
  const base = parsed.toString().replace(/\/+$/, '');
  return { base, display: base, ...(authorization ? { authorization } : {}) };
}

interface RawAnswer {
  status: number;
  text: string;
}

async function request(
  api: ApiUrl,
  method: 'GET' | 'POST',
  path: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  body?: unknown,
): Promise<RawAnswer> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const where = `${method} ${api.display}${path}`;
  try {
    const response = await fetch(api.base + path, {
      method,
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(api.authorization ? { authorization: api.authorization } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
    });
    return { status: response.status, text: await response.text() };
  } catch (cause) {
    if (signal?.aborted) throw signal.reason;
    if (deadline.aborted) {
      throw new EnvironmentError(`${where}: no answer within ${timeoutMs} ms`, {
        hint: 'Check that the Patroni member behind this URL is up and not overloaded, or point Lifeboat at another member.',
        cause,
        details: { url: api.display, path },
      });
    }
    throw new EnvironmentError(`${where}: the Patroni REST API is unreachable (${networkReason(cause)})`, {
      hint: 'Check the URL (restapi.connect_address of a Patroni member, default port 8008), that Patroni runs there, and that no firewall is in the way; any member of the cluster will do.',
      cause,
      details: { url: api.display, path },
    });
  }
}

/** The system error under fetch's generic "fetch failed": ECONNREFUSED, ENOTFOUND... */
function networkReason(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    current = current.cause;
  }
  return error instanceof Error ? error.message : String(error);
}

function parseAnswer<T>(url: string, path: string, answer: RawAnswer, schema: z.ZodType<T>): T {
  if (answer.status !== 200) throw unexpectedAnswer(url, path, answer);
  let json: unknown;
  try {
    json = JSON.parse(answer.text);
  } catch (cause) {
    throw new EnvironmentError(`GET ${url}${path} did not answer JSON: is this a Patroni REST API?`, {
      hint: 'Point Lifeboat at restapi.connect_address of a Patroni member (default port 8008), not at PostgreSQL or a proxy.',
      cause,
    });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new EnvironmentError(`GET ${url}${path} answered JSON Lifeboat does not understand`, {
      hint: 'Lifeboat expects Patroni 3.0 or newer; check the version with: patroni --version',
      details: { issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`) },
    });
  }
  return parsed.data;
}

function unexpectedAnswer(url: string, path: string, answer: RawAnswer): EnvironmentError {
  if (answer.status === 401 || answer.status === 403) return authRequired(url, path, answer.status);
  return new EnvironmentError(
    `${url}${path} answered HTTP ${answer.status}: ${shorten(answer.text) || '(no body)'}`,
    {
      hint: 'Is this the REST API of a Patroni member (restapi.connect_address, default port 8008)?',
      details: { url, path, status: answer.status },
    },
  );
}

function authRequired(url: string, path: string, status: number): EnvironmentError {
  return new EnvironmentError(
    `${url}${path}: the Patroni REST API requires authentication (HTTP ${status})`,
    {
      hint: "Put Patroni's restapi.authentication user and password in the URL: http://USER:PASSWORD@HOST:8008 (from env: or file: in the plan).",
      details: { url, path, status },
    },
  );
}

/**
 * Patroni refuses with a short text and 400 or 412; this says what it means and what to do.
 * Nothing was changed: Patroni checks before it writes the request into its DCS.
 */
function refusedByPatroni(
  url: string,
  path: string,
  answer: RawAnswer,
  body: Record<string, unknown>,
): EnvironmentError {
  if (answer.status === 401 || answer.status === 403) return authRequired(url, path, answer.status);
  const said = answer.text.trim();
  const action = path.slice(1);
  const meaning = explainRefusal(said, body);
  return new EnvironmentError(`Patroni at ${url} refused the ${action} (HTTP ${answer.status}): "${said}"`, {
    hint: `${meaning} Nothing was changed.`,
    details: { url, path, status: answer.status, patroni: said, request: body },
  });
}

function explainRefusal(said: string, body: Record<string, unknown>): string {
  const text = said.toLowerCase();
  if (text.includes('leader name does not match'))
    return `"${String(body.leader)}" is not the leader any more (another switchover or failover happened?): read the cluster again.`;
  if (text.includes('candidate name does not match with sync_standby'))
    return 'The cluster is in synchronous mode, where Patroni switches over only to a synchronous standby: name one whose role is sync_standby.';
  if (text.includes('candidate does not exist'))
    return `Patroni knows no member named "${String(body.candidate)}": name one of the members that GET /cluster lists.`;
  if (text.includes('no good candidates'))
    return 'No member can take over: each is unhealthy, lags more than maximum_lag_on_failover, or is tagged nofailover.';
  if (text.includes('does not have members except leader'))
    return 'The cluster has no replica to hand over to.';
  if (text.includes('can not find sync_standby'))
    return 'The cluster is in synchronous mode and has no synchronous standby right now.';
  if (text.includes('only to a specific candidate')) return 'Name the member that should take over.';
  if (text.includes('only from a specific leader')) return 'Name the current leader.';
  if (text.includes('paused state'))
    return 'The cluster is paused (maintenance mode): name a candidate, or resume it with: patronictl resume.';
  if (text.includes('timezone') || text.includes('time zone') || text.includes('schedule'))
    return 'Give the time as ISO 8601 with a time zone, in the future.';
  return 'Patroni explains why above.';
}

function shorten(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
