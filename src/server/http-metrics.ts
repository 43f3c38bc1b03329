/**
 * The server's own metric families: requests answered (by method, route and status code) and
 * the incidents open now. The dataset families come from src/metrics, as `lifeboat run
 * --metrics` serves them.
 */
import type { FastifyInstance } from 'fastify';
import type { MetricFamily } from '../metrics/exposition.js';

export interface HttpCounter {
  families(openIncidents: number): MetricFamily[];
}

/** Counts every answer; `route` is the route's pattern (`/api/v1/incidents/:id`), never the raw URL, so the series stay few. */
export function countRequests(app: FastifyInstance): HttpCounter {
  const counts = new Map<string, { labels: Record<string, string>; value: number }>();
  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      code: String(reply.statusCode),
    };
    const key = JSON.stringify(labels);
    const entry = counts.get(key) ?? { labels, value: 0 };
    entry.value += 1;
    counts.set(key, entry);
  });
  return {
    families: (openIncidents) => [
      {
        name: 'lifeboat_incidents_open',
        help: 'Incidents not resolved yet.',
        type: 'gauge',
        samples: [{ value: openIncidents }],
      },
      {
        name: 'lifeboat_http_requests_total',
        help: 'HTTP requests answered by lifeboat up, by method, route pattern and status code.',
        type: 'counter',
        samples: [...counts.values()].map(({ labels, value }) => ({ labels, value })),
      },
    ],
  };
}
