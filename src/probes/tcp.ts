/** TCP: the port accepts a connection. Nothing is sent; the connection is closed at once. */
import { connect } from 'node:net';
import type { Probe as ProbeConfig } from '../plan/schema.js';
import { abortMessage, elapsed, failureText, type Probe } from './probe.js';

type TcpConfig = Extract<ProbeConfig, { type: 'tcp' }>;

export function tcpProbe(id: string, config: Pick<TcpConfig, 'host' | 'port'>): Probe {
  const target = `${config.host}:${config.port}`;
  return {
    id,
    kind: 'tcp',
    target,
    async check(signal) {
      const start = process.hrtime.bigint();
      try {
        await connectOnce(config.host, config.port, signal);
        return { ok: true, latencyMs: elapsed(start), message: `${target} accepts connections` };
      } catch (error) {
        const message = signal.aborted
          ? abortMessage(signal, `connecting to ${target}`)
          : `${target} refuses connections: ${failureText(error)}`;
        return { ok: false, latencyMs: elapsed(start), message };
      }
    },
  };
}

/** Resolves once connected (and closes), rejects on error or abort. */
export function connectOnce(host: string, port: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const socket = connect({ host, port });
    const onAbort = (): void => {
      socket.destroy();
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve();
    });
    socket.once('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(error);
    });
  });
}
