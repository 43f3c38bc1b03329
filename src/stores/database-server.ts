/**
 * What PostgreSQL and MySQL targets share: a server URL whose databases are restored one by
 * one, each under the name `--database SRC=DEST` gives it (default: its own).
 */
import { UsageError } from '../errors.js';
import type { PlannedUnit } from './store.js';
import type { DatabaseServerTarget, TargetInput } from './target.js';

export interface ServerKind {
  /** `PostgreSQL`, `MySQL`. */
  label: string;
  /** URLs this kind of server answers to. */
  scheme: RegExp;
  hint: string;
  /** The database a URL names, if any. */
  databaseIn(url: string): string | undefined;
}

/** The server URL and the database mapping `--to` and `--database` ask for. */
export function readServerTarget(
  input: TargetInput<{ url: string }>,
  kind: ServerKind,
): { url: string; databases: Record<string, string> } {
  const url = input.isSource ? input.config.url : input.value;
  if (!kind.scheme.test(url)) {
    throw new UsageError(
      `dataset '${input.dataset}' is restored into a ${kind.label} server, not ${JSON.stringify(input.to)}`,
      {
        hint: kind.hint,
      },
    );
  }
  const named = input.isSource ? undefined : kind.databaseIn(url);
  const databases = mapDatabases(
    input.dataset,
    named,
    input.databases,
    input.backedUpDatabases,
    input.isSource,
  );
  return { url, databases };
}

/**
 * Which backed-up databases go where. A URL naming a database takes exactly one (the only one,
 * or the one `--database SRC` picks); otherwise `--database SRC[=DEST]` picks, and without it
 * every database keeps its name.
 */
function mapDatabases(
  dataset: string,
  named: string | undefined,
  args: string[],
  backedUp: string[],
  isSource: boolean,
): Record<string, string> {
  const pairs = args.map((arg) => {
    const eq = arg.indexOf('=');
    const src = (eq < 0 ? arg : arg.slice(0, eq)).trim();
    const dest = (eq < 0 ? src : arg.slice(eq + 1)).trim();
    if (src === '' || dest === '')
      throw new UsageError(`--database ${JSON.stringify(arg)}: write SRC or SRC=DEST`);
    if (!backedUp.includes(src)) {
      throw new UsageError(
        `--database ${src}: this recovery point of '${dataset}' holds no database '${src}'`,
        {
          hint: `it holds: ${backedUp.join(', ') || '(none)'}`,
        },
      );
    }
    return [src, dest] as const;
  });
  if (isSource && pairs.some(([src, dest]) => src !== dest)) {
    throw new UsageError(
      '--to source restores databases under their own names; to restore under another name give the server url',
    );
  }
  let mapping: Record<string, string>;
  if (named !== undefined) {
    if (pairs.length > 1) {
      throw new UsageError(`--to names one database (${named}) but --database picks ${pairs.length}`, {
        hint: 'give the server url without a database (postgres://HOST:PORT/) and --database SRC=DEST for each',
      });
    }
    const [pair] = pairs;
    if (pair && pair[1] !== pair[0] && pair[1] !== named) {
      throw new UsageError(`--to names database ${named} but --database says ${pair[0]}=${pair[1]}`);
    }
    const src = pair?.[0] ?? (backedUp.length === 1 ? backedUp[0] : undefined);
    if (src === undefined) {
      throw new UsageError(
        `--to names one database (${named}) but this recovery point of '${dataset}' holds ${backedUp.length}: ${backedUp.join(', ')}`,
        {
          hint: `pick one with --database SRC (e.g. --database ${backedUp.find((d) => d !== 'postgres') ?? backedUp[0]}), or give the server url without a database to restore them all`,
        },
      );
    }
    mapping = { [src]: named };
  } else {
    mapping = Object.fromEntries(pairs.length > 0 ? pairs : backedUp.map((db) => [db, db]));
  }
  const destinations = Object.values(mapping);
  const twice = destinations.find((d, i) => destinations.indexOf(d) !== i);
  if (twice) throw new UsageError(`two databases would be restored into the same database ${twice}`);
  if (destinations.length === 0)
    throw new UsageError(`this recovery point of '${dataset}' holds no database`);
  return mapping;
}

export function describeServerTarget(label: string, spec: DatabaseServerTarget): string {
  const pairs = Object.entries(spec.databases).map(([src, dest]) =>
    src === dest ? dest : `${src} → ${dest}`,
  );
  return `${spec.source ? 'the live source, ' : ''}${label} ${spec.host}:${spec.port}, database${pairs.length > 1 ? 's' : ''} ${pairs.join(', ')}`;
}

export function serverUnitDestination(spec: DatabaseServerTarget, unit: PlannedUnit): string {
  return unit.database === undefined
    ? 'roles missing on the target (existing roles are left as they are)'
    : `database ${spec.databases[unit.database]}`;
}

/** `exists (empty)`, `holds 3 table(s) and 2 other object(s)`. */
export function describeCounts(tables: number, objects: number): string {
  if (objects === 0) return 'exists (empty)';
  const others = objects - tables;
  return `holds ${tables} table(s)${others > 0 ? ` and ${others} other object(s)` : ''}`;
}
