/**
 * The network between the primary's host and everyone else, simulated without root: a TCP
 * relay in this process that every client of the primary goes through (pgbouncer, the
 * monitor, the standby's walreceiver). Cutting it freezes every connection in both
 * directions and holds new ones unanswered, which is what a cable pulled or a firewall
 * dropping packets looks like from outside: no refusal, no reset, just silence. Healing it
 * lets the held bytes through, as TCP retransmission would after a short cut, which is why a
 * primary behind a cut must be fenced by more than the router.
 *
 * A refused upstream connection (PostgreSQL down on a host that answers) is passed on as a
 * reset, so that a crash still looks like a crash through the relay.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Endpoint } from '../respond/failover/server.js';

export interface NetworkPath extends Endpoint {
  /** True while the network is cut. */
  readonly isCut: boolean;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream?: Socket;
}

export async function startNetworkPath(target: Endpoint): Promise<NetworkPath> {
  const pairs = new Set<Pair>();
  const held: Pair[] = [];
  let cut = false;

  const relay = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!cut) from.resume();
    });
    from.on('end', () => {
      if (!cut) to.end();
    });
  };

  const open = (pair: Pair) => {
    const upstream = connect({ host: target.host, port: target.port });
    pair.upstream = upstream;
    upstream.pause();
    upstream.once('connect', () => {
      relay(pair.client, upstream);
      relay(upstream, pair.client);
      if (!cut) {
        pair.client.resume();
        upstream.resume();
      }
    });
    // While the network is cut, nothing of the server's end reaches the client: not even a
    // connection made just before the cut and refused or closed just after (the drill kills
    // the server right behind the cut). The client learns of it once the network heals.
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (cut) return;
      // A refusal from the server's host reaches the client as a reset, as it would directly.
      if (error.code === 'ECONNREFUSED') pair.client.resetAndDestroy();
      else pair.client.destroy();
    });
    upstream.on('close', () => {
      if (cut) return;
      pair.client.destroy();
      pairs.delete(pair);
    });
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    const pair: Pair = { client };
    pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => {
      pair.upstream?.destroy();
      pairs.delete(pair);
    });
    if (cut) held.push(pair);
    else open(pair);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    host: '127.0.0.1',
    port,
    get isCut() {
      return cut;
    },
    cut: () => {
      cut = true;
      for (const pair of pairs) {
        pair.client.pause();
        pair.upstream?.pause();
      }
    },
    heal: () => {
      cut = false;
      for (const pair of held.splice(0)) if (!pair.client.destroyed) open(pair);
      for (const pair of pairs) {
        if (pair.upstream?.destroyed) {
          // Its server end went away behind the cut: as TCP would, the client gets a reset now.
          pair.client.resetAndDestroy();
          pairs.delete(pair);
        } else if (pair.upstream?.readyState === 'open') {
          pair.client.resume();
          pair.upstream.resume();
        }
      }
    },
    close: async () => {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
