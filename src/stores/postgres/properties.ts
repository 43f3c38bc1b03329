/**
 * A database's own properties, as its dump records them: `pg_dump -Fc` always stores the
 * DATABASE entries (encoding and collation, owner, comment, ACL, `ALTER DATABASE ... SET` and
 * `ALTER ROLE ... IN DATABASE ... SET`), but pg_restore writes them only with `--create`,
 * which would create the database under its backed-up name. So they are read on their own
 * (the archive's table of contents comes first: pg_restore reads that much of the stream
 * and stops) and applied to the database under whatever name the restore gives it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { OperationError } from '../../errors.js';
import { consuming, firstLines, runTool } from '../../system/tool.js';
import type { PlannedUnit, RestoreIO } from '../store.js';
import { quoteIdent } from './source.js';

export interface DatabaseProperties {
  /** The WITH clause of CREATE DATABASE: template0, encoding, locale (never the name). */
  createOptions: string;
  /** The SQL that gives database `name` the backed-up owner, comment, ACL and settings. */
  apply(name: string): string;
}

/** The table-of-contents lines of the database itself, as `pg_restore -l --create` lists them. */
const databaseEntry = /^\d+; \d+ \d+ (DATABASE|DATABASE PROPERTIES|(COMMENT|ACL|SECURITY LABEL) - DATABASE) /;

export async function readDatabaseProperties(
  io: RestoreIO,
  unit: PlannedUnit,
  backedUpName: string,
): Promise<DatabaseProperties> {
  const list = (await pgRestoreOutput(io, unit, ['-l', '--create']))
    .split('\n')
    .filter((line) => databaseEntry.test(line));
  if (list.length === 0) return { createOptions: 'TEMPLATE = template0', apply: () => '' };
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-pg-toc-'));
  try {
    const file = join(dir, 'database.list');
    writeFileSync(file, `${list.join('\n')}\n`);
    return parseDatabaseScript(
      await pgRestoreOutput(io, unit, ['--create', '-L', file, '-f', '-']),
      backedUpName,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What pg_restore prints reading the unit's archive, which it reads only as far as it needs. */
async function pgRestoreOutput(io: RestoreIO, unit: PlannedUnit, args: string[]): Promise<string> {
  let output = '';
  await io.stream(
    unit,
    (input: Readable) =>
      consuming(input, async () => {
        const result = await runTool('pg_restore', args, { stdin: input });
        if (result.code !== 0) {
          throw new OperationError(
            `reading the database's properties from ${unit.filename} failed: ${firstLines(result.stderr)}`,
          );
        }
        output = result.stdout;
      }),
    { direct: true, head: true },
  );
  return output;
}

/**
 * The CREATE DATABASE options, and the rest of the script with every `DATABASE <name>` naming
 * the database under its new name; psql's meta-commands (`\connect` to the old name,
 * `\restrict`) are left out: the script runs connected to the new database.
 */
export function parseDatabaseScript(script: string, backedUpName: string): DatabaseProperties {
  const lines = script.split('\n');
  const create = lines.find((line) => line.startsWith('CREATE DATABASE '));
  const options = create === undefined ? undefined : / WITH (.*);$/.exec(create)?.[1];
  const body = lines.filter((line) => line !== create && !line.startsWith('\\')).join('\n');
  const forms = [quoteIdent(backedUpName)];
  // pg_dump leaves a plain lower-case name unquoted (a keyword would be quoted: matched above).
  if (/^[a-z_][a-z0-9_$]*$/.test(backedUpName)) forms.push(backedUpName);
  const named = new RegExp(`\\bDATABASE (?:${forms.map(escapeRegExp).join('|')})(?=[\\s;]|$)`, 'g');
  return {
    createOptions: options ?? 'TEMPLATE = template0',
    apply: (name) => body.replace(named, () => `DATABASE ${quoteIdent(name)}`),
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
