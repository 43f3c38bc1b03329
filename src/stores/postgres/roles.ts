/**
 * PostgreSQL's roles on a restore target: the backup's globals script (`pg_dumpall
 * --globals-only`) creates the roles the target lacks and leaves the ones it has alone.
 */
import { parsePgUrl, psqlRows } from './psql.js';

/** The roles the server at `url` has now. */
export async function postgresRoles(url: string): Promise<Set<string>> {
  return new Set((await psqlRows(parsePgUrl(url), 'SELECT rolname FROM pg_roles')).map((r) => r[0] ?? ''));
}

const ident = String.raw`("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)`;
const roleStatement = new RegExp(String.raw`^(?:CREATE|ALTER|COMMENT ON) ROLE ${ident}(?=[\s;])`);
const membershipStatement = new RegExp(String.raw`^GRANT ${ident} TO ${ident}(?=[\s;])`);

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase();
}

/**
 * The globals script without the statements that would change roles the target already has:
 * their passwords, attributes, settings and memberships stay as the target's owners set
 * them. Missing roles are created as backed up, so the restored objects keep their owners.
 */
export function withoutExistingRoles(
  sql: string,
  existing: ReadonlySet<string>,
): { sql: string; created: string[]; kept: string[] } {
  const created = new Set<string>();
  const kept = new Set<string>();
  const lines = sql.split('\n').filter((line) => {
    const role = roleStatement.exec(line);
    if (role) {
      const name = unquote(role[1]!);
      if (existing.has(name)) {
        kept.add(name);
        return false;
      }
      if (line.startsWith('CREATE')) created.add(name);
      return true;
    }
    const grant = membershipStatement.exec(line);
    if (grant && existing.has(unquote(grant[2]!))) return false;
    return true;
  });
  return { sql: lines.join('\n'), created: [...created], kept: [...kept] };
}

/** The part of the globals script a target gets, and what that did, in words. */
export async function rolesFor(url: string, script: string): Promise<{ text: string; note: string }> {
  const filtered = withoutExistingRoles(script, await postgresRoles(url));
  const note = [
    filtered.created.length > 0 ? `created roles ${filtered.created.join(', ')}` : 'no role created',
    filtered.kept.length > 0 ? `left existing ${filtered.kept.join(', ')} as they are` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return { text: filtered.sql, note };
}
