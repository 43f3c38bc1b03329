/**
 * The HTTP API's bearer tokens: created and revoked by `lifeboat token`, checked by the
 * server on every write.
 *
 * A token is 32 random bytes (256 bits), shown once and stored only as its SHA-256. A plain
 * hash is enough here, unlike for passwords: slow, salted hashes (bcrypt, scrypt) exist to
 * make guessing low-entropy human secrets expensive, and a 256-bit random value cannot be
 * guessed however fast the hash. A stolen database then yields no usable token, and the
 * lookup stays a single indexed equality.
 */
import { createHash, randomBytes } from 'node:crypto';
import { UsageError } from '../errors.js';
import type { TokenRecord, TokenRole } from '../state/incidents-store.js';
import type { StateStore } from '../state/store.js';

export const TOKEN_ROLES = ['viewer', 'responder', 'admin'] as const satisfies readonly TokenRole[];
/** Recognisable in a leaked log or a secret scanner. */
const PREFIX = 'lbt_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether `role` may do what `needed` may: admin ⊃ responder ⊃ viewer. */
export function roleAllows(role: TokenRole, needed: TokenRole): boolean {
  return TOKEN_ROLES.indexOf(role) >= TOKEN_ROLES.indexOf(needed);
}

export interface CreatedToken {
  /** The secret: shown once, never stored. */
  token: string;
  record: TokenRecord;
}

export async function createToken(
  state: StateStore,
  input: { role: TokenRole; name?: string | undefined; expiresInSeconds?: number | undefined; actor: string },
): Promise<CreatedToken> {
  const token = PREFIX + randomBytes(32).toString('base64url');
  const expiresAt =
    input.expiresInSeconds === undefined
      ? null
      : new Date(Date.now() + input.expiresInSeconds * 1000).toISOString();
  const record = await state.incidents.insertToken({
    tokenHash: hashToken(token),
    name: input.name ?? `${input.role} token`,
    role: input.role,
    createdBy: input.actor,
    expiresAt,
  });
  await state.appendAudit({
    actor: input.actor,
    action: 'token.create',
    target: `token:${record.id}`,
    details: { name: record.name, role: record.role, expiresAt },
    outcome: 'ok',
  });
  return { token, record };
}

export async function revokeToken(state: StateStore, id: string, actor: string): Promise<TokenRecord> {
  const revoked = await state.incidents.revokeToken(id, new Date().toISOString());
  const record = (await state.incidents.listTokens()).find((t) => t.id === id);
  if (!record) throw new UsageError(`no token ${id}`, { hint: 'list them with `lifeboat token list`' });
  if (!revoked)
    throw new UsageError(`token ${id} was already revoked at ${record.revokedAt}`, {
      hint: 'nothing to do',
    });
  await state.appendAudit({
    actor,
    action: 'token.revoke',
    target: `token:${id}`,
    details: { name: record.name, role: record.role },
    outcome: 'ok',
  });
  return record;
}

export type TokenCheck =
  | { ok: true; token: TokenRecord }
  | { ok: false; reason: 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired' };

/** The token an `Authorization: Bearer …` header names, if it is valid now; marks it used. */
export async function checkBearer(
  state: StateStore,
  header: string | undefined,
  now = new Date(),
): Promise<TokenCheck> {
  if (header === undefined || header === '') return { ok: false, reason: 'missing' };
  const match = /^Bearer[ ]+(\S+)$/i.exec(header.trim());
  if (!match) return { ok: false, reason: 'malformed' };
  const token = await state.incidents.findTokenByHash(hashToken(match[1]!));
  if (!token) return { ok: false, reason: 'unknown' };
  if (token.revokedAt !== null) return { ok: false, reason: 'revoked' };
  if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now.getTime())
    return { ok: false, reason: 'expired' };
  await state.incidents.touchToken(token.id, now.toISOString());
  return { ok: true, token };
}
