/**
 * The HTTP surface's one catch-all: every error becomes a JSON answer `{ error, message, hint? }`
 * with a status that says whose fault it is. A client's mistake is named precisely; anything
 * else is a 500 that shows nothing of the internals (they go to `onError`, i.e. the log).
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { LifeboatError } from '../errors.js';
import { IncidentNotFoundError } from '../incidents/lifecycle.js';

/** A deliberate answer from a route or a hook. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export interface ErrorBody {
  error: string;
  message: string;
  hint?: string;
}

const LIFEBOAT_STATUS: Record<string, number> = {
  usage: 400,
  'plan-invalid': 400,
  refused: 409,
  environment: 503,
  interrupted: 503,
  'operation-failed': 500,
};

function describe(error: FastifyError | Error): { status: number; body: ErrorBody } | undefined {
  if (error instanceof ApiError)
    return {
      status: error.statusCode,
      body: { error: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) },
    };
  if (error instanceof IncidentNotFoundError)
    return { status: 404, body: { error: 'not-found', message: error.message, ...hintOf(error) } };
  if (error instanceof LifeboatError) {
    const status = LIFEBOAT_STATUS[error.kind] ?? 500;
    return status >= 500 && error.kind === 'operation-failed'
      ? undefined
      : { status, body: { error: error.kind, message: error.message, ...hintOf(error) } };
  }
  const fastify = error as FastifyError;
  if (fastify.validation) {
    const first = fastify.validation[0];
    const extra = first?.params.additionalProperty;
    const where = `${fastify.validationContext ?? 'request'}${first?.instancePath ?? ''}`;
    return {
      status: 400,
      body: {
        error: 'bad-request',
        message: `${where} ${first?.message ?? 'is not valid'}${typeof extra === 'string' ? `: '${extra}'` : ''}`,
      },
    };
  }
  // Fastify's own client errors (malformed JSON, a body over the limit, a wrong content type)
  // carry a status below 500 and a message written for clients.
  // A body over the limit is a bad request like any other malformed input (400, as the API
  // documents for every input it refuses); its error word still says which.
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500)
    return {
      status: fastify.statusCode === 413 ? 400 : fastify.statusCode,
      body: {
        error: fastify.statusCode === 413 ? 'payload-too-large' : 'bad-request',
        message: fastify.message,
      },
    };
  return undefined;
}

const hintOf = (error: LifeboatError) => (error.hint ? { hint: error.hint } : {});

export function installErrorHandling(app: FastifyInstance, onError: (error: unknown) => void): void {
  app.setErrorHandler((error: FastifyError | Error, _request, reply) => {
    const known = describe(error);
    if (known) return reply.status(known.status).send(known.body);
    onError(error);
    return reply.status(500).send({
      error: 'internal',
      message: 'internal error; the server log has the details',
    } satisfies ErrorBody);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: 'not-found',
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
      hint: 'the API is described at /api/v1/openapi.json',
    } satisfies ErrorBody),
  );
}
