/**
 * Restoring MySQL/MariaDB databases so that no database ever holds a partial restore under
 * its final name: each one is loaded into `<name>__lifeboat_restore_<id>`, proven there, then
 * swapped in (swap.ts). What it replaces is moved to `<name>__lifeboat_replaced_<id>` and kept:
 * the user drops it once the restored one is trusted. A failed or unproven restore drops its
 * copy; a killed one leaves it, and the next restore into the same server drops it
 * (`clearMysqlLeftovers`). The copy's events are disabled while it is proven and enabled
 * again under the final name, as the backup had them.
 */
import { OperationError } from '../../errors.js';
import { consuming } from '../../system/tool.js';
import { REPLACED_MARK, STAGING_MARK, type PlannedUnit, type RestoreIO } from '../store.js';
import type { MysqlTarget } from '../target.js';
import { mysqlIdent, mysqlLiteral, mysqlRows, parseMysqlUrl, type MysqlConnection } from './client.js';
import { disableEvents } from './objects.js';
import { loadDump } from './source.js';
import { charsetFor, swapDatabase } from './swap.js';

/** MySQL's and MariaDB's longest identifier, in characters. */
const maxNameChars = 64;

/** `name` shortened so that `name + mark + id` fits MySQL's limit on a database name. */
export function markedName(name: string, mark: string, id: string): string {
  const room = maxNameChars - [...(mark + id)].length;
  return `${[...name].slice(0, room).join('')}${mark}${id}`;
}

export async function restoreMysql(spec: MysqlTarget, io: RestoreIO): Promise<undefined> {
  const conn = parseMysqlUrl(spec.url);
  const staged = new Map<string, string>();
  for (const unit of io.units) {
    if (unit.database === undefined) continue;
    staged.set(unit.database, markedName(destOf(spec, unit.database), STAGING_MARK, io.id));
  }
  // Staged databases whose tables are moved already: what is left of them is no copy to drop.
  const moved = new Set<string>();
  // Per staged database, the events disabled while it is proven.
  const events = new Map<string, Set<string>>();
  io.stage({
    target: { kind: 'server', url: spec.url, databases: Object.fromEntries(staged) },
    commit: () => commit(conn, spec, { staged, events, moved }, io.id),
    discard: () =>
      dropAll(
        conn,
        [...staged.values()].filter((name) => !moved.has(name)),
      ),
  });

  const restoreOne = async (unit: PlannedUnit) => {
    if (unit.database === undefined)
      throw new OperationError(`${unit.filename} is not a MySQL database dump`);
    const name = staged.get(unit.database)!;
    // Like the database it replaces: the dump carries no default character set of its own.
    await mysqlRows(
      conn,
      `CREATE DATABASE ${mysqlIdent(name)} ${await charsetFor(conn, destOf(spec, unit.database))}`,
    );
    // consuming: restic's pipe, handed over, is closed once the client is done with it.
    const bytes = await io.stream(unit, (input) => consuming(input, () => loadDump(conn, name, input)), {
      direct: true,
    });
    events.set(name, await disableEvents(conn, name));
    return { bytes };
  };
  return io.session(async () => {
    for (const [index, unit] of io.units.entries()) {
      // The next dump is opened while this one loads: restic's start is not waited for.
      io.openAhead(io.units[index + 1]);
      await io.unit(unit, () => restoreOne(unit));
    }
    return undefined;
  });
}

function destOf(spec: MysqlTarget, database: string): string {
  return spec.databases[database] ?? database;
}

/** Each staged database swapped in, one after the other (databases are not swapped together). */
async function commit(
  conn: MysqlConnection,
  spec: MysqlTarget,
  state: { staged: Map<string, string>; events: Map<string, Set<string>>; moved: Set<string> },
  id: string,
): Promise<string[]> {
  const replaced: string[] = [];
  for (const [src, name] of state.staged) {
    const dest = destOf(spec, src);
    const aside = markedName(dest, REPLACED_MARK, id);
    const swap = { staged: name, dest, aside, events: state.events.get(name) ?? new Set<string>() };
    if (await swapDatabase(conn, swap, () => state.moved.add(name))) {
      replaced.push(
        `database \`${dest}\` on ${spec.host}:${spec.port} was replaced; the one it held is kept as \`${aside}\`, any events of it disabled (remove it once the restored one is trusted: DROP DATABASE ${mysqlIdent(aside)};)`,
      );
    }
  }
  return replaced;
}

async function dropAll(conn: MysqlConnection, names: string[]): Promise<void> {
  for (const name of names) await mysqlRows(conn, `DROP DATABASE IF EXISTS ${mysqlIdent(name)}`);
}

/**
 * Staged copies of this target's databases that a killed restore left: dropped, unless a
 * client has one as its database (another restore still loading it; seen only with the
 * PROCESS privilege). Only names Lifeboat makes for these databases, with an id after the
 * staging mark, are touched; what a swap moved aside (REPLACED_MARK) never is.
 */
export async function clearMysqlLeftovers(spec: MysqlTarget): Promise<string[]> {
  const conn = parseMysqlUrl(spec.url);
  const rows = await mysqlRows(
    conn,
    `SELECT s.SCHEMA_NAME FROM information_schema.SCHEMATA s
      WHERE LOCATE(${mysqlLiteral(STAGING_MARK)}, s.SCHEMA_NAME) > 0
        AND NOT EXISTS (SELECT 1 FROM information_schema.PROCESSLIST p WHERE p.DB = s.SCHEMA_NAME)
      ORDER BY 1`,
  );
  const ours = Object.values(spec.databases).map((dest) =>
    markedName(dest, STAGING_MARK, '00000000').slice(0, -8),
  );
  const removed: string[] = [];
  for (const [name] of rows) {
    if (
      name === undefined ||
      !ours.some((prefix) => name.startsWith(prefix) && /^[0-9a-f]{8}$/.test(name.slice(prefix.length)))
    )
      continue;
    try {
      await mysqlRows(conn, `DROP DATABASE IF EXISTS ${mysqlIdent(name)}`);
    } catch (error) {
      throw new OperationError(
        `could not drop \`${name}\`, left on ${spec.host}:${spec.port} by an interrupted restore`,
        {
          cause: error,
          hint: `drop it yourself (DROP DATABASE ${mysqlIdent(name)};) and restore again`,
        },
      );
    }
    removed.push(
      `database \`${name}\` on ${spec.host}:${spec.port}, a partial copy an interrupted restore left`,
    );
  }
  return removed;
}
