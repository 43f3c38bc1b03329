/**
 * The state store's incidents, their timeline and the HTTP API's bearer tokens: the SQL, on
 * the Driver that store.ts opened. What the lifecycle allows is decided in src/incidents; this
 * module only records it, each change and its timeline entry in one transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Driver, Row, SqlExecutor } from './driver.js';

export type IncidentStatusValue = 'investigating' | 'identified' | 'monitoring' | 'resolved';
export type IncidentImpactValue = 'none' | 'minor' | 'major' | 'critical';
export type TokenRole = 'viewer' | 'responder' | 'admin';

export interface IncidentUpdateRecord {
  id: string;
  incidentId: string;
  status: IncidentStatusValue;
  message: string;
  actor: string;
  createdAt: string;
}

export interface IncidentRecord {
  id: string;
  title: string;
  status: IncidentStatusValue;
  impact: IncidentImpactValue;
  /** The highest priority of the affected services, when the plan gives one. */
  severity: string | null;
  /** Plan service ids. */
  services: string[];
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  resolvedAt: string | null;
  /** Oldest first. */
  updates: IncidentUpdateRecord[];
}

export interface NewIncident {
  title: string;
  status: IncidentStatusValue;
  impact: IncidentImpactValue;
  severity: string | null;
  services: string[];
  message: string;
  actor: string;
}

export interface NewIncidentUpdate {
  status: IncidentStatusValue;
  message: string;
  actor: string;
}

export interface TokenRecord {
  id: string;
  name: string;
  role: TokenRole;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface NewToken {
  /** SHA-256 of the token, hex. The token itself is never stored. */
  tokenHash: string;
  name: string;
  role: TokenRole;
  createdBy: string;
  expiresAt: string | null;
}

export interface IncidentsStore {
  insertIncident(input: NewIncident): Promise<IncidentRecord>;
  /** Appends to the timeline and moves the incident's status; resolving sets resolvedAt. */
  appendIncidentUpdate(id: string, input: NewIncidentUpdate): Promise<IncidentRecord>;
  getIncident(id: string): Promise<IncidentRecord | undefined>;
  /** Newest first. Default limit: 100. */
  listIncidents(options?: { open?: boolean; limit?: number }): Promise<IncidentRecord[]>;
  countOpenIncidents(): Promise<number>;

  insertToken(input: NewToken): Promise<TokenRecord>;
  /** The token with this hash, revoked or expired included (the caller judges). */
  findTokenByHash(tokenHash: string): Promise<TokenRecord | undefined>;
  touchToken(id: string, at: string): Promise<void>;
  /** Newest first. */
  listTokens(): Promise<TokenRecord[]>;
  /** False when there is no such token or it was already revoked. */
  revokeToken(id: string, at: string): Promise<boolean>;
}

const text = (row: Row, column: string): string => {
  const value = row[column];
  if (typeof value === 'string') return value;
  throw new Error(`state store column ${column} holds ${JSON.stringify(value)}, expected text`);
};
const nullableText = (row: Row, column: string): string | null =>
  row[column] === null || row[column] === undefined ? null : text(row, column);

function readUpdate(row: Row): IncidentUpdateRecord {
  return {
    id: text(row, 'id'),
    incidentId: text(row, 'incident_id'),
    status: text(row, 'status') as IncidentStatusValue,
    message: text(row, 'message'),
    actor: text(row, 'actor'),
    createdAt: text(row, 'created_at'),
  };
}

function readIncident(row: Row, updates: IncidentUpdateRecord[]): IncidentRecord {
  const services: unknown = JSON.parse(text(row, 'services'));
  return {
    id: text(row, 'id'),
    title: text(row, 'title'),
    // The CHECK constraints of migration 8 hold these to their unions.
    status: text(row, 'status') as IncidentStatusValue,
    impact: text(row, 'impact') as IncidentImpactValue,
    severity: nullableText(row, 'severity'),
    services: Array.isArray(services) ? services.map(String) : [],
    createdBy: text(row, 'created_by'),
    createdAt: text(row, 'created_at'),
    updatedAt: text(row, 'updated_at'),
    resolvedAt: nullableText(row, 'resolved_at'),
    updates,
  };
}

function readToken(row: Row): TokenRecord {
  return {
    id: text(row, 'id'),
    name: text(row, 'name'),
    role: text(row, 'role') as TokenRole,
    createdBy: text(row, 'created_by'),
    createdAt: text(row, 'created_at'),
    expiresAt: nullableText(row, 'expires_at'),
    lastUsedAt: nullableText(row, 'last_used_at'),
    revokedAt: nullableText(row, 'revoked_at'),
  };
}

let lastTimestamp = 0;
/** Strictly increasing within the process, so that a timeline sorts in the order it was written. */
function now(): string {
  lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
  return new Date(lastTimestamp).toISOString();
}

export function createIncidentsStore(driver: Driver): IncidentsStore {
  async function withUpdates(tx: SqlExecutor, rows: Row[]): Promise<IncidentRecord[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((row) => text(row, 'id'));
    const updates = (
      await tx.query(
        `SELECT * FROM incident_updates WHERE incident_id IN (${ids.map(() => '?').join(', ')}) ORDER BY created_at, id`,
        ids,
      )
    ).map(readUpdate);
    return rows.map((row) =>
      readIncident(
        row,
        updates.filter((u) => u.incidentId === row.id),
      ),
    );
  }

  async function get(tx: SqlExecutor, id: string): Promise<IncidentRecord | undefined> {
    const [incident] = await withUpdates(tx, await tx.query('SELECT * FROM incidents WHERE id = ?', [id]));
    return incident;
  }

  async function insertUpdate(tx: SqlExecutor, incidentId: string, input: NewIncidentUpdate, at: string) {
    await tx.run(
      'INSERT INTO incident_updates (id, incident_id, status, message, actor, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [randomUUID(), incidentId, input.status, input.message, input.actor, at],
    );
  }

  return {
    insertIncident: (input) =>
      driver.transaction(async (tx) => {
        const id = randomUUID();
        const at = now();
        await tx.run(
          'INSERT INTO incidents (id, title, status, impact, severity, services, created_by, created_at, updated_at, resolved_at) ' +
            'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [
            id,
            input.title,
            input.status,
            input.impact,
            input.severity,
            JSON.stringify(input.services),
            input.actor,
            at,
            at,
            input.status === 'resolved' ? at : null,
          ],
        );
        await insertUpdate(tx, id, input, at);
        return (await get(tx, id))!;
      }),

    appendIncidentUpdate: (id, input) =>
      driver.transaction(async (tx) => {
        const at = now();
        const changed = await tx.run(
          'UPDATE incidents SET status = ?, updated_at = ?, resolved_at = ? WHERE id = ?',
          [input.status, at, input.status === 'resolved' ? at : null, id],
        );
        if (changed === 0) throw new Error(`state store: no incident ${id}`);
        await insertUpdate(tx, id, input, at);
        return (await get(tx, id))!;
      }),

    getIncident: (id) => get(driver, id),

    async listIncidents(options = {}) {
      const filter =
        options.open === undefined ? '' : `WHERE resolved_at IS ${options.open ? '' : 'NOT '}NULL`;
      const rows = await driver.query(
        `SELECT * FROM incidents ${filter} ORDER BY created_at DESC, id DESC LIMIT ?`,
        [options.limit ?? 100],
      );
      return withUpdates(driver, rows);
    },

    async countOpenIncidents() {
      const [row] = await driver.query('SELECT count(*) AS n FROM incidents WHERE resolved_at IS NULL');
      return Number(row?.n ?? 0);
    },

    async insertToken(input) {
      const [row] = await driver.query(
        'INSERT INTO api_tokens (id, token_hash, name, role, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *',
        [randomUUID(), input.tokenHash, input.name, input.role, input.createdBy, now(), input.expiresAt],
      );
      if (!row) throw new Error('state store: insert into api_tokens returned no row');
      return readToken(row);
    },

    async findTokenByHash(tokenHash) {
      const [row] = await driver.query('SELECT * FROM api_tokens WHERE token_hash = ?', [tokenHash]);
      return row && readToken(row);
    },

    async touchToken(id, at) {
      await driver.run('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', [at, id]);
    },

    async listTokens() {
      return (await driver.query('SELECT * FROM api_tokens ORDER BY created_at DESC, id DESC')).map(
        readToken,
      );
    },

    async revokeToken(id, at) {
      return (
        (await driver.run('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [
          at,
          id,
        ])) > 0
      );
    },
  };
}
