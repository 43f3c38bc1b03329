/**
 * Who may write: every request to /api/v1 other than a read needs a bearer token of role
 * responder or above. Checked on `onRequest`, before the body is read, so that a caller
 * without a token learns nothing about what the API would accept. Refusals are audited:
 * an attempt to write is an action too.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TokenRecord } from '../state/incidents-store.js';
import type { StateStore } from '../state/store.js';
import { ApiError } from './errors.js';
import { checkBearer, roleAllows } from './tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The token that authorised this write; null on reads. */
    token: TokenRecord | null;
  }
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The actor an audit entry names for a request: the token's name and id. */
export function actorOf(request: FastifyRequest): string {
  return request.token ? `token:${request.token.name} (${request.token.id})` : 'anonymous';
}

export function installAuth(app: FastifyInstance, state: StateStore): void {
  app.decorateRequest('token', null);
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0] ?? '';
    if (!path.startsWith('/api/v1/') || READS.has(request.method)) return;
    const refuse = async (status: 401 | 403, reason: string, actor: string, error: ApiError) => {
      await state.appendAudit({
        actor,
        action: 'api.write',
        target: `http:${request.method} ${path}`,
        details: { reason, status },
        outcome: 'refused',
      });
      throw error;
    };
    const checked = await checkBearer(state, request.headers.authorization);
    if (!checked.ok)
      return refuse(
        401,
        checked.reason,
        'anonymous',
        new ApiError(
          401,
          'unauthorized',
          checked.reason === 'missing'
            ? 'this request needs a bearer token'
            : `the bearer token is ${checked.reason === 'malformed' ? 'not of the form "Bearer TOKEN"' : checked.reason}`,
          'create one with `lifeboat token create --role responder` and send it as `Authorization: Bearer TOKEN`',
        ),
      );
    if (!roleAllows(checked.token.role, 'responder'))
      return refuse(
        403,
        `role ${checked.token.role}`,
        `token:${checked.token.name} (${checked.token.id})`,
        new ApiError(
          403,
          'forbidden',
          `a ${checked.token.role} token may only read`,
          'writes need a token of role responder or admin: `lifeboat token create --role responder`',
        ),
      );
    request.token = checked.token;
  });
  // A 401 names the scheme, as RFC 9110 asks.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode === 401) void reply.header('WWW-Authenticate', 'Bearer realm="lifeboat"');
    return payload;
  });
}
