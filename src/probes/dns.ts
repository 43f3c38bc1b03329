/**
 * DNS: the name resolves, through the system resolver (hosts file, search domains), as the
 * services that depend on it resolve it; optionally to an expected address.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Probe as ProbeConfig } from '../plan/schema.js';
import { abortMessage, elapsed, failureText, type Probe } from './probe.js';

type DnsConfig = Extract<ProbeConfig, { type: 'dns' }>;

export function dnsProbe(id: string, config: Pick<DnsConfig, 'host' | 'address'>): Probe {
  const target = `DNS ${config.host}`;
  return {
    id,
    kind: 'dns',
    target,
    async check(signal) {
      const start = process.hrtime.bigint();
      try {
        // getaddrinfo cannot be cancelled: the abort only stops waiting for it.
        const found = await abortable(lookup(config.host, { all: true }), signal);
        const latencyMs = elapsed(start);
        const addresses = found.map((entry) => entry.address);
        const details = { addresses: addresses.join(' ') };
        if (config.address !== undefined && !addresses.some((a) => sameAddress(a, config.address ?? '')))
          return {
            ok: false,
            latencyMs,
            message: `${config.host} resolves to ${addresses.join(', ')}, not ${config.address}`,
            details,
          };
        return {
          ok: true,
          latencyMs,
          message: `${config.host} resolves to ${addresses.join(', ')}`,
          details,
        };
      } catch (error) {
        const message = signal.aborted
          ? abortMessage(signal, `resolving ${config.host}`)
          : `${config.host} does not resolve: ${failureText(error)}`;
        return { ok: false, latencyMs: elapsed(start), message };
      }
    },
  };
}

/** `::1` and `0:0::1` are one address; names compare as text. */
function sameAddress(a: string, b: string): boolean {
  return isIP(a) === 6 && isIP(b) === 6 ? normalizeV6(a) === normalizeV6(b) : a === b;
}

function normalizeV6(address: string): string {
  return new URL(`http://[${address}]/`).hostname;
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
