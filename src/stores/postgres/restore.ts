/**
 * Restoring PostgreSQL databases so that no database ever holds a partial restore under its
 * final name: each one is created as `<name>__lifeboat_restore_<id>`, restored and proven
 * there, then swapped in by two renames in one transaction. A database it replaces is
 * renamed to `<name>__lifeboat_replaced_<id>` and kept: the user drops it once the restored
 * one is trusted. A failed or unproven restore drops its copy; a killed one leaves it, and
 * the next restore into the same server drops it (`clearPostgresLeftovers`).
 *
 * The database's own properties travel with it: the dump's DATABASE entries (encoding,
 * collation, owner, comment, ACL, `ALTER DATABASE/ROLE ... SET`) are read first and applied to
 * the copy before the proof; renames keep them (they are tied to the database's oid).
 */
import { Readable } from 'node:stream';
import { OperationError } from '../../errors.js';
import { consuming, firstLines } from '../../system/tool.js';
import { REPLACED_MARK, STAGING_MARK, type PlannedUnit, type RestoreIO, type Source } from '../store.js';
import type { PostgresTarget } from '../target.js';
import { readDatabaseProperties, type DatabaseProperties } from './properties.js';
import { parsePgUrl, psqlRows, psqlScript, sqlLiteral, type PgConnection } from './psql.js';
import { rolesFor } from './roles.js';
import { quoteIdent, restoreDump } from './source.js';

/** PostgreSQL truncates longer names (NAMEDATALEN - 1 bytes). */
const maxNameBytes = 63;

/** `name` shortened (never mid-character) so that `name + mark + id` fits PostgreSQL's limit. */
export function markedName(name: string, mark: string, id: string): string {
  const room = maxNameBytes - Buffer.byteLength(mark + id);
  let base = name;
  while (Buffer.byteLength(base) > room) base = [...base].slice(0, -1).join('');
  return `${base}${mark}${id}`;
}

export async function restorePostgres(
  source: Source,
  spec: PostgresTarget,
  io: RestoreIO,
): Promise<undefined> {
  const conn = parsePgUrl(spec.url);
  const maintenance = conn.withDatabase(conn.database ?? 'postgres');
  const staged = new Map<string, string>();
  for (const unit of io.units) {
    if (unit.database === undefined) continue;
    staged.set(
      unit.database,
      markedName(spec.databases[unit.database] ?? unit.database, STAGING_MARK, io.id),
    );
  }
  io.stage({
    target: { kind: 'server', url: spec.url, databases: Object.fromEntries(staged) },
    commit: () => commit(maintenance, spec, staged, io.id),
    discard: () => dropAll(maintenance, [...staged.values()]),
  });

  const restoreOne = async (unit: PlannedUnit) => {
    if (unit.database === undefined) {
      // The roles script is a few KB: read whole, only roles the target lacks are created.
      const text = await io.read(unit);
      const kept = await rolesFor(spec.url, text);
      await source.restoreUnit(unit.filename, Readable.from([kept.text]), { kind: 'server', url: spec.url });
      return { bytes: Buffer.byteLength(text), note: kept.note };
    }
    const name = staged.get(unit.database)!;
    const properties = await readDatabaseProperties(io, unit, unit.database);
    const created = await createStaged(maintenance, name, properties);
    // consuming: restic's pipe, handed over, is closed once pg_restore is done with it.
    const bytes = await io.stream(
      unit,
      (input) => consuming(input, () => restoreDump(maintenance.withDatabase(name), input, 1)),
      { direct: true },
    );
    // After the data: a property such as default_transaction_read_only would stop pg_restore.
    await psqlScript(maintenance.withDatabase(name), properties.apply(name));
    return { bytes, ...(created ? { note: created } : {}) };
  };
  return io.session(async () => {
    for (const unit of io.units) await io.unit(unit, () => restoreOne(unit));
    return undefined;
  });
}

/**
 * The staged database, with the encoding and collation the dump records. A server without
 * that locale gets its default instead, said in the unit's note.
 */
async function createStaged(
  conn: PgConnection,
  name: string,
  properties: DatabaseProperties,
): Promise<string | undefined> {
  const create = (options: string) => psqlRows(conn, `CREATE DATABASE ${quoteIdent(name)} WITH ${options}`);
  try {
    await create(properties.createOptions);
    return undefined;
  } catch (error) {
    if (properties.createOptions === 'TEMPLATE = template0') throw error;
    await create('TEMPLATE = template0');
    return `created with the server's default encoding and locale, not the backed-up ${properties.createOptions} (${firstLines(String(error), 1)})`;
  }
}

/**
 * Each staged database renamed to its final name, in one transaction with the rename that
 * moves the database it replaces aside, so that a crash leaves one or the other under the
 * name, never neither. Clients of both are disconnected first; one that reconnects in
 * between makes the rename fail, and it is tried again.
 */
async function commit(
  conn: PgConnection,
  spec: PostgresTarget,
  staged: Map<string, string>,
  id: string,
): Promise<string[]> {
  const replaced: string[] = [];
  for (const [src, name] of staged) {
    const dest = spec.databases[src] ?? src;
    const aside = markedName(dest, REPLACED_MARK, id);
    const [exists] = await psqlRows(conn, `SELECT 1 FROM pg_database WHERE datname = ${sqlLiteral(dest)}`);
    const renames = [
      ...(exists ? [`ALTER DATABASE ${quoteIdent(dest)} RENAME TO ${quoteIdent(aside)};`] : []),
      `ALTER DATABASE ${quoteIdent(name)} RENAME TO ${quoteIdent(dest)};`,
    ];
    const script = `BEGIN;
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
 WHERE datname IN (${sqlLiteral(dest)}, ${sqlLiteral(name)}) AND pid <> pg_backend_pid();
${renames.join('\n')}
COMMIT;`;
    await retryWhileBusy(() => psqlScript(conn, script));
    if (exists) {
      replaced.push(
        `database "${dest}" on ${spec.host}:${spec.port} was replaced; the one it held is kept as "${aside}" (remove it once the restored one is trusted: DROP DATABASE ${quoteIdent(aside)};)`,
      );
    }
  }
  return replaced;
}

async function retryWhileBusy(work: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= 5 || !/being accessed by other users/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

async function dropAll(conn: PgConnection, names: string[]): Promise<void> {
  for (const name of names) await dropDatabase(conn, name);
}

async function dropDatabase(conn: PgConnection, name: string): Promise<void> {
  await psqlScript(
    conn,
    `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ${sqlLiteral(name)} AND pid <> pg_backend_pid();
DROP DATABASE IF EXISTS ${quoteIdent(name)};`,
  );
}

/**
 * Staged copies of this target's databases that a killed restore left: dropped, unless a
 * client is connected to one (another restore still writing it).
 */
export async function clearPostgresLeftovers(spec: PostgresTarget): Promise<string[]> {
  const conn = parsePgUrl(spec.url);
  const maintenance = conn.withDatabase(conn.database ?? 'postgres');
  const rows = await psqlRows(
    maintenance,
    `SELECT d.datname FROM pg_database d
      WHERE strpos(d.datname, ${sqlLiteral(STAGING_MARK)}) > 0
        AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)
      ORDER BY 1`,
  );
  const ours = Object.values(spec.databases).map((dest) =>
    markedName(dest, STAGING_MARK, '00000000').slice(0, -8),
  );
  const removed: string[] = [];
  for (const [name] of rows) {
    if (
      name == null ||
      !ours.some((prefix) => name.startsWith(prefix) && /^[0-9a-f]{8}$/.test(name.slice(prefix.length)))
    )
      continue;
    try {
      await dropDatabase(maintenance, name);
    } catch (error) {
      throw new OperationError(
        `could not drop "${name}", left on ${spec.host}:${spec.port} by an interrupted restore`,
        {
          cause: error,
          hint: `drop it yourself (DROP DATABASE ${quoteIdent(name)};) and restore again`,
        },
      );
    }
    removed.push(
      `database "${name}" on ${spec.host}:${spec.port}, a partial copy an interrupted restore left`,
    );
  }
  return removed;
}
