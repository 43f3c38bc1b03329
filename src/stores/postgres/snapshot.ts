/**
 * An exported PostgreSQL snapshot (`pg_export_snapshot()`): a session holds a read-only
 * repeatable-read transaction open so that pg_dump (`--snapshot`) and the fingerprint's
 * queries (`SET TRANSACTION SNAPSHOT`) all see the database as of one instant. The
 * fingerprint then matches the dump exactly even while the source is being written to.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { secretsOf, type PgConnection } from './psql.js';
import { redact } from '../../system/tool.js';

export interface ExportedSnapshot {
  /** The id other sessions import, e.g. `00000003-0000001B-1`. */
  id: string;
  /** Ends the exporting transaction. Importers must have started by then. */
  release(): Promise<void>;
}

/** Exports a snapshot of `conn`'s database, or explains in the rejection why it could not. */
export function exportSnapshot(conn: PgConnection, timeoutMs = 30_000): Promise<ExportedSnapshot> {
  const child = spawn('psql', ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-d', conn.uri], {
    env: { ...process.env, ...conn.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk.slice(0, 4096)));
  child.stdin.on('error', () => undefined);
  const release = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end('COMMIT;\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  return new Promise<ExportedSnapshot>((resolve, reject) => {
    const fail = (why: string) => {
      child.kill('SIGKILL');
      reject(new Error(`cannot export a snapshot of ${conn.database ?? 'the database'}: ${why}`));
    };
    const timer = setTimeout(() => fail('timed out'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(error.message);
    });
    void exited.then(() => {
      clearTimeout(timer);
      fail(redact(stderr.trim(), secretsOf(conn)) || 'psql ended');
    });
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      const id = line.trim();
      if (/^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/i.test(id)) resolve({ id, release });
      else fail(`unexpected answer ${JSON.stringify(id.slice(0, 80))}`);
    });
    child.stdin.write('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot();\n');
  });
}
