/** Finding a free loopback TCP port for a throwaway instance. */
import { connect, createServer } from 'node:net';

/** Ports this process handed out: two instances started at once must not get the same one. */
const handedOut = new Set<number>();

/**
 * A port that was free a moment ago on `host` (default 127.0.0.1), never one this process
 * handed out before. Another process can still take it before the instance binds it, so the
 * starters retry with a new port when binding fails.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await kernelPort(host);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: the kernel keeps offering ports already handed out');
}

/**
 * Starts an instance on `fixed`, or on a free port, trying a new one (three tries in all)
 * when another process took the port between `freePort` and the bind (`taken` says so).
 */
export async function onFreePort<T>(
  fixed: number | undefined,
  start: (port: number) => Promise<T>,
  taken: (error: unknown) => boolean = (error) => /in use/i.test(String(error)),
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(fixed ?? (await freePort()));
    } catch (error) {
      if (fixed !== undefined || attempt >= 3 || !taken(error)) throw error;
    }
  }
}

async function kernelPort(host: string): Promise<number> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('freePort: no address from the kernel'));
      });
    });
  });
}

/** True when a TCP connection to host:port is refused or times out (nothing listens). */
export async function portIsClosed(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(true));
  });
}
