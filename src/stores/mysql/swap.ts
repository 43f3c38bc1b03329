/**
 * Putting a proven staged database under its final name. MariaDB and MySQL have no RENAME
 * DATABASE; what they have is RENAME TABLE, which moves any number of tables between
 * databases in one atomic statement. So the final database is created if it is absent, and
 * one RENAME TABLE moves the tables of the database it replaces into
 * `<dest>__lifeboat_replaced_<id>` and the staged tables into `<dest>`: a client of `<dest>`
 * sees either the old tables or the restored ones, never a mix, never none. The objects
 * RENAME TABLE does not carry (views, triggers, routines, events: see objects.ts) are read
 * before it and created again where their tables went.
 *
 * What is not atomic, and why it is kept small rather than closed:
 * - Triggers must be dropped before their table may change database. They are dropped in the
 *   same session right before the RENAME, so a write to the live database between the two
 *   statements runs without the old triggers (it lands in the tables that are moved aside).
 *   A failed RENAME gets them back.
 * - After the RENAME, `<dest>` holds the restored tables but, until the next statements,
 *   still the old views, routines and events and no triggers: a client in that moment may
 *   call an old routine or write without the restored triggers.
 * - A process killed between the RENAME and the end leaves those objects half moved; the
 *   staged database then holds only definitions, which the next restore's clean-up removes
 *   (the backup still holds them).
 * MariaDB refuses RENAME TABLE under LOCK TABLES, so clients cannot be held out meanwhile.
 */
import { OperationError } from '../../errors.js';
import { mysqlIdent, mysqlLiteral, mysqlRows, type MysqlConnection } from './client.js';
import { createScript, dropStatement, readObjects, runScript, type SchemaObject } from './objects.js';

/** How long the RENAME waits for clients' transactions on the replaced tables to end. */
const lockWaitSeconds = 60;

export interface Swap {
  staged: string;
  dest: string;
  /** Where the replaced database's tables and objects are kept. */
  aside: string;
  /** Events of the backup disabled while staged: enabled under the final name. */
  events: ReadonlySet<string>;
}

/**
 * Swaps one database in; returns whether it replaced one. `onMoved` is called once the tables
 * are in place, before the objects are created again: from then on the staged database is
 * no longer a copy to drop but what is left of the move.
 */
export async function swapDatabase(
  conn: MysqlConnection,
  { staged, dest, aside, events }: Swap,
  onMoved: () => void,
): Promise<boolean> {
  const replaced = await charsetOf(conn, dest);
  const incoming = await readObjects(conn, staged);
  const incomingTables = await movableTables(conn, staged);
  let outgoing: SchemaObject[] = [];
  let outgoingTables: string[] = [];
  if (replaced) {
    outgoing = await readObjects(conn, dest);
    outgoingTables = await movableTables(conn, dest);
    await mysqlRows(conn, `CREATE DATABASE ${mysqlIdent(aside)} ${replaced}`);
  } else {
    // The dump names no database, so it carries no default character set: the final
    // database takes the staged one's (the replaced database's, or the server's default).
    await mysqlRows(
      conn,
      `CREATE DATABASE IF NOT EXISTS ${mysqlIdent(dest)} ${(await charsetOf(conn, staged)) ?? ''}`,
    );
  }

  const triggers = (objects: SchemaObject[], database: string) =>
    objects
      .filter((o) => o.kind === 'TRIGGER')
      .map((o) => `DROP TRIGGER IF EXISTS ${mysqlIdent(database)}.${mysqlIdent(o.name)};`);
  const renames = [
    ...outgoingTables.map((t) => `${qualified(dest, t)} TO ${qualified(aside, t)}`),
    ...incomingTables.map((t) => `${qualified(staged, t)} TO ${qualified(dest, t)}`),
  ];
  const move = [
    `SET SESSION lock_wait_timeout = ${lockWaitSeconds};`,
    ...triggers(incoming, staged),
    ...triggers(outgoing, dest),
    ...(renames.length > 0 ? [`RENAME TABLE ${renames.join(',\n  ')};`] : []),
  ].join('\n');
  try {
    await mysqlRows(conn, move);
  } catch (error) {
    const undo = await undoMove(
      conn,
      { staged, dest, aside },
      outgoing,
      incomingTables,
      replaced !== undefined,
    ).then(
      () => undefined,
      (undoError: unknown) => undoError,
    );
    throw new OperationError(`could not move the restored tables into \`${dest}\`: ${String(error)}`, {
      cause: error,
      hint:
        undo === undefined
          ? `\`${dest}\` is as it was. If a client held a transaction open on its tables for over ${lockWaitSeconds} s, end it and restore again`
          : `\`${dest}\` keeps its tables, but its triggers, dropped for the move, could not be created again (${String(undo)}): restore the backup into a new database and create them again from SHOW CREATE TRIGGER there`,
    });
  }
  onMoved();

  try {
    // The live name first: its old objects out, the restored ones in.
    await runScript(
      conn,
      dest,
      `${outgoing
        .filter((o) => o.kind !== 'TRIGGER')
        .map((o) => `${dropStatement(o)};`)
        .join('\n')}\n${createScript(incoming, { enableEvents: events })}`,
    );
    if (replaced) await runScript(conn, aside, createScript(outgoing, { disableEvents: true }));
  } catch (error) {
    throw new OperationError(
      `the restored tables are in place in \`${dest}\`${replaced ? ` and the replaced ones kept in \`${aside}\`` : ''}, but creating their views, triggers, routines or events again failed: ${String(error)}`,
      {
        cause: error,
        hint: `compare \`${dest}\` with the backup (restore it into a new database to see its views, triggers, routines and events) and create what is missing; the staged database \`${staged}\` still holds the restored views, routines and events`,
      },
    );
  }
  await mysqlRows(conn, `DROP DATABASE IF EXISTS ${mysqlIdent(staged)}`);
  return replaced !== undefined;
}

/**
 * After a failed RENAME (atomic: nothing moved), the live database's triggers are created
 * again and the empty database made for the replaced tables removed.
 */
async function undoMove(
  conn: MysqlConnection,
  { staged, dest, aside }: Omit<Swap, 'events'>,
  outgoing: SchemaObject[],
  incomingTables: string[],
  madeAside: boolean,
): Promise<void> {
  const stillStaged = await movableTables(conn, staged);
  if (stillStaged.length !== incomingTables.length) return;
  const present = new Set(
    (
      await mysqlRows(
        conn,
        `SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${mysqlLiteral(dest)}`,
      )
    ).map(([name]) => name),
  );
  const lost = outgoing.filter((o) => o.kind === 'TRIGGER' && !present.has(o.name));
  if (lost.length > 0) await runScript(conn, dest, createScript(lost));
  if (madeAside && (await movableTables(conn, aside)).length === 0)
    await mysqlRows(conn, `DROP DATABASE IF EXISTS ${mysqlIdent(aside)}`);
}

function qualified(database: string, table: string): string {
  return `${mysqlIdent(database)}.${mysqlIdent(table)}`;
}

/** Base tables and sequences: what RENAME TABLE moves between databases. */
async function movableTables(conn: MysqlConnection, database: string): Promise<string[]> {
  return (
    await mysqlRows(
      conn,
      `SELECT TABLE_NAME FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = ${mysqlLiteral(database)} AND TABLE_TYPE IN ('BASE TABLE', 'SEQUENCE')
        ORDER BY 1`,
    )
  ).map(([name]) => name ?? '');
}

/** `CHARACTER SET x COLLATE y` of a database, or undefined when it does not exist. */
async function charsetOf(conn: MysqlConnection, database: string): Promise<string | undefined> {
  const [row] = await mysqlRows(
    conn,
    `SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${mysqlLiteral(database)}`,
  );
  if (!row) return undefined;
  return `CHARACTER SET ${row[0] ?? 'utf8mb4'} COLLATE ${row[1] ?? 'utf8mb4_general_ci'}`;
}

/** The same clause, for the staged copy of `dest`: the database it will replace, if any. */
export async function charsetFor(conn: MysqlConnection, dest: string): Promise<string> {
  return (await charsetOf(conn, dest)) ?? '';
}
