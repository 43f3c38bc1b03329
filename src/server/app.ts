/**
 * The HTTP application of `lifeboat up`, without listening: Fastify with the routes, the
 * token check, the error handler and the OpenAPI document generated from the routes'
 * schemas. Tests and `serve.ts` build it from a state store and a plan.
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { MetricFamily } from '../metrics/exposition.js';
import type { Plan } from '../plan/schema.js';
import type { StateStore } from '../state/store.js';
import { installAuth } from './auth.js';
import { installErrorHandling } from './errors.js';
import { countRequests } from './http-metrics.js';
import { healthRoutes } from './routes/health.js';
import { incidentRoutes } from './routes/incidents.js';
import { statusPageRoutes } from './routes/statuspage.js';

/** Requests are small JSON documents: 64 KiB holds a long incident update many times over. */
export const BODY_LIMIT_BYTES = 64 * 1024;

export interface AppOptions {
  state: StateStore;
  plan: Plan;
  /** `--public-url`, for links in the feeds and the JSON API; null: links are relative. */
  publicUrl: string | null;
  /** When the plan was first seen (its plan version): the components' creation time. */
  since: string;
  datasetFamilies: () => Promise<MetricFamily[]>;
  /** Told about every error answered as a 500 (the answer itself says nothing of it). */
  onError: (error: unknown) => void;
  version: string;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    // Unknown fields are refused, not silently dropped, and nothing is coerced: what a client
    // sends is what it meant, or a 400 tells it otherwise.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    // Keep-alive connections that are idle are closed on shutdown; requests in flight finish.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Lifeboat',
        version: options.version,
        description:
          'Incidents, the status page and the server of `lifeboat up`. Writes under /api/v1 need a bearer token ' +
          '(`lifeboat token create`); /api/v2 is Statuspage’s public API, read-only.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  installErrorHandling(app, options.onError);
  installAuth(app, options.state);
  const http = countRequests(app);
  const deps = { state: options.state, plan: options.plan };
  healthRoutes(app, { state: options.state, http, datasetFamilies: options.datasetFamilies });
  incidentRoutes(app, deps);
  statusPageRoutes(app, { ...deps, publicUrl: options.publicUrl, since: options.since });
  await app.ready();
  return app;
}
