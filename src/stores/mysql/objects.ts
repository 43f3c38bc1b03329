/**
 * The objects of a MySQL/MariaDB database that RENAME TABLE does not carry into another
 * database: views (a view is refused across databases), triggers (a table that has any is
 * refused: "Trigger in wrong schema"), stored routines and events (they belong to the
 * database, not to a table). A swap reads their definitions here, drops them where they
 * were, and creates them again where they go.
 *
 * Definitions are read with SHOW CREATE from inside their own database, which writes names of
 * that database unqualified: created from inside another database, they refer to its tables.
 * Each is created again under the sql_mode, time zone and client character set it was
 * created under, as mariadb-dump does (and with its `;;` delimiter, so that whatever it
 * dumped loads the same way).
 */
import { OperationError } from '../../errors.js';
import { mysqlIdent, mysqlLiteral, mysqlRows, type MysqlConnection } from './client.js';

export type ObjectKind = 'PROCEDURE' | 'FUNCTION' | 'PACKAGE' | 'PACKAGE BODY' | 'VIEW' | 'TRIGGER' | 'EVENT';

export interface SchemaObject {
  kind: ObjectKind;
  name: string;
  /** The CREATE statement as SHOW CREATE gives it. */
  create: string;
  /** SET statements for the session it is created in. */
  settings: string[];
}

/** A database's objects in the order they can be created: routines, views, triggers, events. */
export async function readObjects(conn: MysqlConnection, database: string): Promise<SchemaObject[]> {
  const db = mysqlLiteral(database);
  const routines = await names(
    conn,
    `SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${db}
      ORDER BY FIELD(ROUTINE_TYPE, 'FUNCTION', 'PROCEDURE', 'PACKAGE', 'PACKAGE BODY'), ROUTINE_NAME`,
  );
  const views = await names(
    conn,
    `SELECT 'VIEW', TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ${db} ORDER BY 2`,
  );
  // In the order they fire, so that each one created after the other keeps its place.
  const triggers = await names(
    conn,
    `SELECT 'TRIGGER', TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${db}
      ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER`,
  );
  const events = await names(
    conn,
    `SELECT 'EVENT', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${db} ORDER BY 2`,
  );
  return [
    ...(await definitions(conn, database, routines)),
    ...viewsInDependencyOrder(await definitions(conn, database, views)),
    ...(await definitions(conn, database, triggers)),
    ...(await definitions(conn, database, events)),
  ];
}

async function names(conn: MysqlConnection, sql: string): Promise<[ObjectKind, string][]> {
  return (await mysqlRows(conn, sql)).map(([kind, name]) => [kind as ObjectKind, name ?? '']);
}

/** One SHOW CREATE per object, all of one kind in one client call (one row each, in order). */
async function definitions(
  conn: MysqlConnection,
  database: string,
  objects: [ObjectKind, string][],
): Promise<SchemaObject[]> {
  if (objects.length === 0) return [];
  const rows = await mysqlRows(
    conn,
    `SET NAMES utf8mb4;\n${objects.map(([kind, name]) => `SHOW CREATE ${kind} ${mysqlIdent(name)};`).join('\n')}`,
    database,
  );
  return objects.map(([kind, name], i) => {
    const row = rows[i] ?? [];
    const parsed = parseShowCreate(kind, row);
    if (parsed.create === undefined || parsed.create === 'NULL') {
      throw new OperationError(
        `could not read the definition of ${kind.toLowerCase()} \`${name}\` in database \`${database}\``,
        {
          hint: 'the restoring user must be allowed to see every routine, view, trigger and event of the database (e.g. SHOW_ROUTINE and SELECT on it); grant it and restore again',
        },
      );
    }
    return { kind, name, create: parsed.create, settings: parsed.settings };
  });
}

/** SHOW CREATE's columns differ by kind. */
function parseShowCreate(kind: ObjectKind, row: string[]): { create?: string; settings: string[] } {
  const client = (cs?: string, collation?: string) => [
    `SET SESSION character_set_client = ${mysqlLiteral(cs ?? 'utf8mb4')}`,
    `SET SESSION collation_connection = ${mysqlLiteral(collation ?? 'utf8mb4_general_ci')}`,
  ];
  const mode = (sqlMode?: string) => `SET SESSION sql_mode = ${mysqlLiteral(sqlMode ?? '')}`;
  switch (kind) {
    case 'VIEW': {
      // View, Create View, character_set_client, collation_connection. A view's text is the
      // server's own canonical form: it reads the same under any sql_mode.
      const [, create, cs, collation] = row;
      return { ...(create !== undefined ? { create } : {}), settings: [mode(''), ...client(cs, collation)] };
    }
    case 'EVENT': {
      // Event, sql_mode, time_zone, Create Event, character_set_client, collation_connection, ...
      const [, sqlMode, zone, create, cs, collation] = row;
      return {
        ...(create !== undefined ? { create } : {}),
        settings: [
          mode(sqlMode),
          `SET SESSION time_zone = ${mysqlLiteral(zone ?? 'SYSTEM')}`,
          ...client(cs, collation),
        ],
      };
    }
    case 'TRIGGER':
    case 'PROCEDURE':
    case 'FUNCTION':
    case 'PACKAGE':
    case 'PACKAGE BODY': {
      // Name, sql_mode, Create ..., character_set_client, collation_connection, ...
      const [, sqlMode, create, cs, collation] = row;
      return {
        ...(create !== undefined ? { create } : {}),
        settings: [mode(sqlMode), ...client(cs, collation)],
      };
    }
  }
}

/**
 * Views that read other views after them. A view's canonical text quotes every name it reads
 * (`` `other` ``): a mention of another view's quoted name puts that one first. A column that
 * happens to bear a view's name only adds an order that was not needed.
 */
function viewsInDependencyOrder(views: SchemaObject[]): SchemaObject[] {
  const ordered: SchemaObject[] = [];
  const pending = [...views];
  while (pending.length > 0) {
    const ready = pending.findIndex((view) =>
      pending.every((other) => other === view || !view.create.includes(mysqlIdent(other.name))),
    );
    // A cycle can only be a false mention: keep the rest in their order.
    const [next] = pending.splice(ready < 0 ? 0 : ready, 1);
    ordered.push(next!);
  }
  return ordered;
}

/** The statement that removes one object from the database the session is in. */
export function dropStatement(object: SchemaObject): string {
  return `DROP ${object.kind} IF EXISTS ${mysqlIdent(object.name)}`;
}

/**
 * A script that creates `objects` in the database the session is in. `disableEvents`: events
 * are created disabled (a copy kept aside must not run its schedule against the kept tables
 * or beyond them). `enableEvents`: these events, disabled while staged, are created enabled.
 */
export function createScript(
  objects: SchemaObject[],
  options: { disableEvents?: boolean; enableEvents?: ReadonlySet<string> } = {},
): string {
  const lines = ['DELIMITER ;;', 'SET NAMES utf8mb4;;', 'SET @lifeboat_sql_mode = @@sql_mode;;'];
  for (const object of objects) {
    let create = object.create;
    const disable = object.kind === 'EVENT' && options.disableEvents === true;
    if (disable)
      create = create.replace(
        /\b(ON COMPLETION (?:NOT )?PRESERVE) (?:ENABLE|DISABLE ON SLAVE)\b/,
        '$1 DISABLE',
      );
    if (object.kind === 'EVENT' && options.enableEvents?.has(object.name) === true)
      create = create.replace(/\b(ON COMPLETION (?:NOT )?PRESERVE) DISABLE\b/, '$1 ENABLE');
    lines.push(...object.settings.map((s) => `${s};;`), `${create};;`);
    // The rewrite above leaves no moment enabled; this catches a text it did not match.
    if (disable) lines.push(`ALTER EVENT ${mysqlIdent(object.name)} DISABLE;;`);
  }
  lines.push('SET SESSION sql_mode = @lifeboat_sql_mode;;', 'DELIMITER ;', '');
  return lines.join('\n');
}

/**
 * Disables the enabled events of a freshly loaded copy, so that their schedules do not change
 * it while it is proven (or act beyond it); returns their names, to enable them where the
 * copy goes. The dump creates events last, so only its final moments ran with them enabled.
 */
export async function disableEvents(conn: MysqlConnection, database: string): Promise<Set<string>> {
  const enabled = (
    await mysqlRows(
      conn,
      `SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${mysqlLiteral(database)} AND STATUS = 'ENABLED'`,
    )
  ).map(([name]) => name ?? '');
  if (enabled.length > 0)
    await runScript(
      conn,
      database,
      enabled.map((name) => `ALTER EVENT ${mysqlIdent(name)} DISABLE;`).join('\n'),
    );
  return new Set(enabled);
}

/** Runs a script of statements in `database`. */
export async function runScript(conn: MysqlConnection, database: string, script: string): Promise<void> {
  await mysqlRows(conn, script, database);
}
