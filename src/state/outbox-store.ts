/**
 * The notification outbox: messages written before anyone tries to send them, claimed by
 * workers under a lease, and a log of every attempt. What to send and how is decided in
 * src/notify; this module only keeps the records, atomically, on SQLite or PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import type { Driver, Row, SqlExecutor } from './driver.js';
import { toColumns, type JsonObject } from './records.js';

/** Where a message goes: a plan channel, and the address on it when it has several (an email, a phone number). */
export interface OutboxRoute {
  channel: string;
  /** Null: the channel's own target (a chat webhook, a PagerDuty service). */
  address: string | null;
}

export type OutboxStatus = 'pending' | 'delivered' | 'failed';

export interface OutboxEnqueue {
  /** Unique per notification and route: enqueueing the same key again keeps the first row. */
  idempotencyKey: string;
  route: OutboxRoute;
  /** Used once the primary route has failed `maxAttempts` times or refused the message. */
  fallback?: { route: OutboxRoute; idempotencyKey: string } | undefined;
  /** What the channel sends (subject, body, severity...), as JSON. */
  message: JsonObject;
  /** ISO time before which no worker sends it. Default: now. */
  notBefore?: string | undefined;
}

export interface OutboxMessage {
  id: string;
  /** The key of the route in use: the fallback's once `onFallback`. */
  idempotencyKey: string;
  route: OutboxRoute;
  fallback: { route: OutboxRoute; idempotencyKey: string } | null;
  onFallback: boolean;
  message: JsonObject;
  status: OutboxStatus;
  /** Attempts on the route in use. */
  attempts: number;
  nextAttemptAt: string;
  /** Set while a worker holds the message. */
  leaseToken: string | null;
  leaseExpiresAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
  providerId: string | null;
  lastError: string | null;
}

export type AttemptOutcome = 'delivered' | 'retry' | 'fallback' | 'failed' | 'interrupted';

/** One try to send, as the delivery log keeps it. */
export interface OutboxAttempt {
  id: string;
  messageId: string;
  channel: string;
  address: string | null;
  idempotencyKey: string;
  startedAt: string;
  finishedAt: string;
  outcome: AttemptOutcome;
  /** The provider's HTTP or SMTP status, when it answered. */
  statusCode: number | null;
  error: string | null;
  retryAfterMs: number | null;
}

export interface AttemptInput {
  startedAt: string;
  finishedAt?: string;
  statusCode?: number | null | undefined;
  error?: string | null | undefined;
  retryAfterMs?: number | null | undefined;
}

/** What follows an attempt. `interrupted` releases the message without counting the attempt. */
export type AttemptNext =
  | { outcome: 'delivered'; providerId?: string | null | undefined }
  | { outcome: 'retry'; at: string }
  | { outcome: 'fallback'; at: string }
  | { outcome: 'failed' }
  | { outcome: 'interrupted'; at: string };

export interface OutboxStore {
  /** Committed before it resolves. `created: false` when the key was already there. */
  enqueue(input: OutboxEnqueue): Promise<{ message: OutboxMessage; created: boolean }>;
  /**
   * Takes up to `limit` pending messages that are due and not leased (or whose lease has
   * expired: their worker died), oldest due first, each under a new lease token. Safe across
   * processes: a message is handed to one claimer per lease.
   */
  claimDue(options: { leaseMs: number; limit: number; now?: string }): Promise<OutboxMessage[]>;
  /**
   * Logs the attempt and moves the message on, if `leaseToken` still holds it; false when the
   * lease was lost (it expired and another worker took the message), in which case nothing
   * is written.
   */
  recordAttempt(id: string, leaseToken: string, attempt: AttemptInput, next: AttemptNext): Promise<boolean>;
  /** Gives the message back, due at `at`, without logging an attempt (a rate limit, not a failure). */
  defer(id: string, leaseToken: string, at: string): Promise<boolean>;
  get(id: string): Promise<OutboxMessage | undefined>;
  getByKey(idempotencyKey: string): Promise<OutboxMessage | undefined>;
  /** Oldest first. Default limit: 1000. */
  list(options?: { status?: OutboxStatus; limit?: number }): Promise<OutboxMessage[]>;
  /** The delivery log of one message, in order. */
  attempts(id: string): Promise<OutboxAttempt[]>;
  /** Messages per status. */
  counts(): Promise<Record<OutboxStatus, number>>;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function createOutboxStore(driver: Driver): OutboxStore {
  const get = async (tx: SqlExecutor, id: string) => {
    const row = (await tx.query('SELECT * FROM outbox_messages WHERE id = ?', [id]))[0];
    return row && readMessage(row);
  };

  return {
    async enqueue(input) {
      const at = new Date().toISOString();
      const { columns, values } = toColumns({
        id: randomUUID(),
        idempotencyKey: input.idempotencyKey,
        channel: input.route.channel,
        address: input.route.address,
        fallbackChannel: input.fallback?.route.channel ?? null,
        fallbackAddress: input.fallback?.route.address ?? null,
        fallbackKey: input.fallback?.idempotencyKey ?? null,
        onFallback: false,
        message: input.message,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: input.notBefore ?? at,
        createdAt: at,
      });
      // ON CONFLICT DO NOTHING returns no row: the notification was enqueued before.
      const sql =
        `INSERT INTO outbox_messages (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ` +
        'ON CONFLICT (idempotency_key) DO NOTHING RETURNING *';
      const row = (await driver.query(sql, values))[0];
      if (row) return { message: readMessage(row), created: true };
      const existing = (
        await driver.query('SELECT * FROM outbox_messages WHERE idempotency_key = ?', [input.idempotencyKey])
      )[0];
      if (!existing)
        throw new Error(`state store: outbox key ${input.idempotencyKey} neither inserted nor found`);
      return { message: readMessage(existing), created: false };
    },

    claimDue: ({ leaseMs, limit, now }) =>
      driver.transaction(async (tx) => {
        const at = now ?? new Date().toISOString();
        const free = '(lease_expires_at IS NULL OR lease_expires_at <= ?)';
        const candidates = await tx.query(
          `SELECT id FROM outbox_messages WHERE status = 'pending' AND next_attempt_at <= ? AND ${free} ` +
            'ORDER BY next_attempt_at, created_at LIMIT ?',
          [at, at, limit],
        );
        const expires = iso(Date.parse(at) + leaseMs);
        const claimed: OutboxMessage[] = [];
        for (const { id } of candidates) {
          // Compare and set: on PostgreSQL another transaction may have taken the row since the
          // SELECT; the UPDATE re-checks the lease once it holds the row lock.
          const row = (
            await tx.query(
              `UPDATE outbox_messages SET lease_token = ?, lease_expires_at = ? WHERE id = ? AND status = 'pending' AND ${free} RETURNING *`,
              [randomUUID(), expires, String(id), at],
            )
          )[0];
          if (row) claimed.push(readMessage(row));
        }
        return claimed;
      }),

    recordAttempt: (id, leaseToken, attempt, next) =>
      driver.transaction(async (tx) => {
        const message = await get(tx, id);
        if (!message || message.leaseToken !== leaseToken || message.status !== 'pending') return false;
        const finishedAt = attempt.finishedAt ?? new Date().toISOString();
        const error = attempt.error ?? null;
        const { columns, values } = toColumns({
          id: randomUUID(),
          messageId: id,
          channel: message.route.channel,
          address: message.route.address,
          idempotencyKey: message.idempotencyKey,
          startedAt: attempt.startedAt,
          finishedAt,
          outcome: next.outcome,
          statusCode: attempt.statusCode ?? null,
          error,
          retryAfterMs: attempt.retryAfterMs ?? null,
        });
        await tx.run(
          `INSERT INTO outbox_attempts (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
          values,
        );
        const release = 'lease_token = NULL, lease_expires_at = NULL';
        switch (next.outcome) {
          case 'delivered':
            await tx.run(
              `UPDATE outbox_messages SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, provider_id = ?, last_error = NULL, ${release} WHERE id = ?`,
              [finishedAt, next.providerId ?? null, id],
            );
            break;
          case 'retry':
            await tx.run(
              `UPDATE outbox_messages SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, ${release} WHERE id = ?`,
              [next.at, error, id],
            );
            break;
          case 'fallback':
            if (!message.fallback || message.onFallback)
              throw new Error(`state store: outbox message ${id} has no fallback left`);
            await tx.run(
              `UPDATE outbox_messages SET on_fallback = 1, attempts = 0, next_attempt_at = ?, last_error = ?, ${release} WHERE id = ?`,
              [next.at, error, id],
            );
            break;
          case 'failed':
            await tx.run(
              `UPDATE outbox_messages SET status = 'failed', attempts = attempts + 1, last_error = ?, ${release} WHERE id = ?`,
              [error, id],
            );
            break;
          case 'interrupted':
            await tx.run(`UPDATE outbox_messages SET next_attempt_at = ?, ${release} WHERE id = ?`, [
              next.at,
              id,
            ]);
            break;
        }
        return true;
      }),

    async defer(id, leaseToken, at) {
      const sql =
        "UPDATE outbox_messages SET next_attempt_at = ?, lease_token = NULL, lease_expires_at = NULL WHERE id = ? AND lease_token = ? AND status = 'pending'";
      return (await driver.run(sql, [at, id, leaseToken])) > 0;
    },

    get: (id) => get(driver, id),

    async getByKey(idempotencyKey) {
      const row = (
        await driver.query('SELECT * FROM outbox_messages WHERE idempotency_key = ?', [idempotencyKey])
      )[0];
      return row && readMessage(row);
    },

    async list(options = {}) {
      const filter = options.status === undefined ? '' : 'WHERE status = ?';
      const rows = await driver.query(
        `SELECT * FROM outbox_messages ${filter} ORDER BY created_at, id LIMIT ?`,
        [...(options.status === undefined ? [] : [options.status]), options.limit ?? 1000],
      );
      return rows.map(readMessage);
    },

    async attempts(id) {
      const rows = await driver.query(
        'SELECT * FROM outbox_attempts WHERE message_id = ? ORDER BY started_at, finished_at, id',
        [id],
      );
      return rows.map(readAttempt);
    },

    async counts() {
      const rows = await driver.query('SELECT status, count(*) AS n FROM outbox_messages GROUP BY status');
      const counts: Record<OutboxStatus, number> = { pending: 0, delivered: 0, failed: 0 };
      for (const row of rows) counts[readStatus(row.status)] = Number(row.n);
      return counts;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Reading rows

function text(row: Row, column: string): string {
  const value = row[column];
  if (typeof value === 'string') return value;
  throw new Error(`state store column outbox.${column} holds ${JSON.stringify(value)}, expected text`);
}

function textOrNull(row: Row, column: string): string | null {
  return row[column] === null || row[column] === undefined ? null : text(row, column);
}

function integerOrNull(row: Row, column: string): number | null {
  const value = row[column];
  if (value === null || value === undefined) return null;
  // pg returns BIGINT as text.
  const n = Number(value);
  if (Number.isInteger(n)) return n;
  throw new Error(`state store column outbox.${column} holds ${JSON.stringify(value)}, expected an integer`);
}

function readStatus(value: unknown): OutboxStatus {
  if (value === 'pending' || value === 'delivered' || value === 'failed') return value;
  throw new Error(`state store column outbox_messages.status holds ${JSON.stringify(value)}`);
}

function readMessage(row: Row): OutboxMessage {
  const onFallback = Number(row.on_fallback) === 1;
  const fallbackChannel = textOrNull(row, 'fallback_channel');
  const fallback = fallbackChannel
    ? {
        route: { channel: fallbackChannel, address: textOrNull(row, 'fallback_address') },
        idempotencyKey: text(row, 'fallback_key'),
      }
    : null;
  const primary = { channel: text(row, 'channel'), address: textOrNull(row, 'address') };
  const message: unknown = JSON.parse(text(row, 'message'));
  return {
    id: text(row, 'id'),
    idempotencyKey: onFallback && fallback ? fallback.idempotencyKey : text(row, 'idempotency_key'),
    route: onFallback && fallback ? fallback.route : primary,
    fallback,
    onFallback,
    message: message as JsonObject,
    status: readStatus(row.status),
    attempts: integerOrNull(row, 'attempts') ?? 0,
    nextAttemptAt: text(row, 'next_attempt_at'),
    leaseToken: textOrNull(row, 'lease_token'),
    leaseExpiresAt: textOrNull(row, 'lease_expires_at'),
    createdAt: text(row, 'created_at'),
    deliveredAt: textOrNull(row, 'delivered_at'),
    providerId: textOrNull(row, 'provider_id'),
    lastError: textOrNull(row, 'last_error'),
  };
}

function readAttempt(row: Row): OutboxAttempt {
  return {
    id: text(row, 'id'),
    messageId: text(row, 'message_id'),
    channel: text(row, 'channel'),
    address: textOrNull(row, 'address'),
    idempotencyKey: text(row, 'idempotency_key'),
    startedAt: text(row, 'started_at'),
    finishedAt: text(row, 'finished_at'),
    outcome: text(row, 'outcome') as AttemptOutcome,
    statusCode: integerOrNull(row, 'status_code'),
    error: textOrNull(row, 'error'),
    retryAfterMs: integerOrNull(row, 'retry_after_ms'),
  };
}
