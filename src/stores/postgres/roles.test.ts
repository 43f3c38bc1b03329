import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withoutExistingRoles } from './roles.js';

describe('withoutExistingRoles', () => {
  test('keeps roles the target has as they are, creates the missing ones', () => {
    const sql = [
      'CREATE ROLE app_owner;',
      "ALTER ROLE app_owner WITH NOSUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$x';",
      'CREATE ROLE postgres;',
      "ALTER ROLE postgres WITH SUPERUSER LOGIN PASSWORD 'md5abc';",
      'CREATE ROLE "Odd ""Role""";',
      'ALTER ROLE "Odd ""Role""" WITH LOGIN;',
      'ALTER ROLE postgres SET search_path TO public;',
      'GRANT app_owner TO postgres GRANTED BY postgres;',
      'GRANT postgres TO app_owner GRANTED BY postgres;',
    ].join('\n');
    const out = withoutExistingRoles(sql, new Set(['postgres']));
    assert.deepEqual(out.created.sort(), ['Odd "Role"', 'app_owner']);
    assert.deepEqual(out.kept, ['postgres']);
    assert.doesNotMatch(out.sql, /md5abc|search_path|TO postgres/);
    assert.match(out.sql, /SCRAM-SHA-256\$x/);
    assert.match(out.sql, /GRANT postgres TO app_owner/);
  });
});
