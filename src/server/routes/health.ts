/** `/healthz` for load balancers and supervisors, `/metrics` for Prometheus, `/api/v1/openapi.json`. */
import type { FastifyInstance } from 'fastify';
import { coerceError } from '../../errors.js';
import { EXPOSITION_CONTENT_TYPE, renderExposition, type MetricFamily } from '../../metrics/exposition.js';
import type { StateStore } from '../../state/store.js';
import type { HttpCounter } from '../http-metrics.js';

export interface HealthDeps {
  state: StateStore;
  http: HttpCounter;
  /** The dataset families, as `lifeboat run --metrics` serves them (cached). */
  datasetFamilies: () => Promise<MetricFamily[]>;
}

export function healthRoutes(app: FastifyInstance, deps: HealthDeps): void {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Whether the server answers and its state store too (503 when the store does not)',
        tags: ['operations'],
      },
    },
    async (_request, reply) => {
      try {
        await deps.state.incidents.countOpenIncidents();
        return { status: 'ok', stateStore: { ok: true, backend: deps.state.backend } };
      } catch (error) {
        // The store's own message (a locked file, a refused connection) is what an operator needs;
        // it names no secret (locations are printed without passwords).
        return reply.status(503).send({
          status: 'failing',
          stateStore: { ok: false, backend: deps.state.backend, error: coerceError(error).message },
        });
      }
    },
  );

  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus exposition (text format 0.0.4)', tags: ['operations'] } },
    async (_request, reply) => {
      const open = await deps.state.incidents.countOpenIncidents();
      const text = renderExposition([...deps.http.families(open), ...(await deps.datasetFamilies())]);
      return reply.type(EXPOSITION_CONTENT_TYPE).send(text);
    },
  );

  app.get(
    '/api/v1/openapi.json',
    { schema: { summary: 'This API, as an OpenAPI 3.1 document', tags: ['operations'] } },
    async () => app.swagger(),
  );
}
