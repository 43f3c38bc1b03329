/**
 * One HTTP POST to a provider, and what its answer means for a retry: 2xx is delivered;
 * 408, 425, 429 and 5xx are worth another try (after Retry-After when it says so); any other
 * status is a refusal that trying again cannot fix. Network errors and timeouts are retried.
 * Error messages name the channel, never the URL: a webhook URL is itself the credential.
 */
import { DeliveryError } from '../delivery-error.js';

export interface ProviderRequest {
  /** `channels.<id>`, for messages. */
  channel: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs?: number | undefined;
  signal: AbortSignal;
}

export interface ProviderResponse {
  status: number;
  headers: Headers;
  text: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const RETRYABLE = new Set([408, 425, 429]);

export async function postToProvider(request: ProviderRequest): Promise<ProviderResponse> {
  const timeout = AbortSignal.timeout(request.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.any([request.signal, timeout]),
      redirect: 'error',
    });
  } catch (cause) {
    if (request.signal.aborted) throw cause;
    const what = timeout.aborted ? 'timed out' : `failed (${describeCause(cause)})`;
    throw new DeliveryError(`channels.${request.channel}: the request ${what}`, {
      retryable: true,
      hint: 'Lifeboat retries it; check that the provider is reachable from this host',
    });
  }
  const text = await response.text().catch(() => '');
  const answer = { status: response.status, headers: response.headers, text };
  if (response.ok) return answer;
  const retryable = RETRYABLE.has(response.status) || response.status >= 500;
  throw new DeliveryError(
    `channels.${request.channel}: the provider answered ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
    {
      retryable,
      statusCode: response.status,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      hint: retryable
        ? 'Lifeboat retries it'
        : `check channels.${request.channel} in the plan (its URL, key or address) and the provider's answer`,
    },
  );
}

/** `Retry-After: 120` or an HTTP date → milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function describeCause(error: unknown): string {
  // undici wraps the socket error: "fetch failed" with the useful part in `cause`.
  const inner = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = inner instanceof Error && 'code' in inner ? String(inner.code) : undefined;
  return code ?? (inner instanceof Error ? inner.message : String(inner));
}

/** Reads the provider's JSON answer, or undefined when it is not JSON. */
export function jsonOf(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
