/** `/api/v1/incidents`: the incident lifecycle over HTTP, each route one call to src/incidents. */
import type { FastifyInstance } from 'fastify';
import {
  getIncident,
  listIncidents,
  openIncident,
  updateIncident,
  type IncidentDeps,
} from '../../incidents/lifecycle.js';
import {
  Incident,
  IncidentCreate,
  IncidentList,
  IncidentParams,
  IncidentUpdateCreate,
} from '../../incidents/schemas.js';
import { actorOf } from '../auth.js';
import { jsonSchema, parseBody } from '../json-schema.js';

const TAGS = ['incidents'];
const bearer = [{ bearer: [] }];

export function incidentRoutes(app: FastifyInstance, deps: IncidentDeps): void {
  const incident = jsonSchema(Incident, 'output');
  const params = jsonSchema(IncidentParams, 'input');

  app.post(
    '/api/v1/incidents',
    {
      schema: {
        summary: 'Open an incident',
        tags: TAGS,
        security: bearer,
        body: jsonSchema(IncidentCreate, 'input'),
        response: { 201: incident },
      },
    },
    async (request, reply) => {
      const created = await openIncident(deps, parseBody(IncidentCreate, request.body), actorOf(request));
      return reply.status(201).header('Location', `/api/v1/incidents/${created.id}`).send(created);
    },
  );

  app.get(
    '/api/v1/incidents',
    {
      schema: {
        summary: 'List incidents, newest first',
        tags: TAGS,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            open: {
              type: 'boolean',
              description: 'true: only unresolved; false: only resolved. Default: all.',
            },
            limit: { type: 'integer', minimum: 1, maximum: 1000, description: 'Default: 100.' },
          },
        },
        response: { 200: jsonSchema(IncidentList, 'output') },
      },
    },
    async (request) => {
      const query = request.query as { open?: boolean; limit?: number };
      return { incidents: await listIncidents(deps, query) } satisfies IncidentList;
    },
  );

  app.get(
    '/api/v1/incidents/:id',
    { schema: { summary: 'One incident and its timeline', tags: TAGS, params, response: { 200: incident } } },
    async (request) => getIncident(deps, (request.params as IncidentParams).id),
  );

  app.post(
    '/api/v1/incidents/:id/updates',
    {
      schema: {
        summary: 'Add an update (status and message); status resolved closes the incident',
        tags: TAGS,
        security: bearer,
        params,
        body: jsonSchema(IncidentUpdateCreate, 'input'),
        response: { 201: incident },
      },
    },
    async (request, reply) => {
      const updated = await updateIncident(
        deps,
        (request.params as IncidentParams).id,
        parseBody(IncidentUpdateCreate, request.body),
        actorOf(request),
      );
      return reply.status(201).send(updated);
    },
  );
}
