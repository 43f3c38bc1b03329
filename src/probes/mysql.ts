/**
 * MySQL/MariaDB: connect and SELECT 1 through the mariadb client (the driver's own way in),
 * plus whether the server is read-only — a replica, in most setups.
 */
import { mysqlFailure, parseMysqlUrl } from '../stores/mysql/client.js';
import { runTool } from '../system/tool.js';
import { abortMessage, elapsed, failureText, type Probe } from './probe.js';

export function mysqlProbe(id: string, url: string, timeoutMs: number): Probe {
  const conn = parseMysqlUrl(url);
  const target = `MySQL at ${conn.host}:${conn.port}`;
  return {
    id,
    kind: 'mysql',
    target,
    async check(signal) {
      const start = process.hrtime.bigint();
      try {
        const result = await runTool(
          'mariadb',
          [
            ...conn.args,
            '--batch',
            '--skip-column-names',
            `--connect-timeout=${Math.max(1, Math.ceil(timeoutMs / 1000))}`,
          ],
          {
            env: conn.env,
            stdin: 'SELECT 1, @@global.read_only;',
            secrets: conn.password ? [conn.password] : [],
            timeoutMs,
          },
        );
        const latencyMs = elapsed(start);
        if (signal.aborted) return { ok: false, latencyMs, message: abortMessage(signal, target) };
        if (result.code !== 0)
          return { ok: false, latencyMs, message: failureText(mysqlFailure(conn, result, 'SELECT 1')) };
        const [one, readOnly] = result.stdout.trim().split('\t');
        if (one !== '1')
          return { ok: false, latencyMs, message: `${target} answered ${one ?? 'nothing'} to SELECT 1` };
        const role = readOnly === '1' ? 'read-only' : 'writable';
        return {
          ok: true,
          latencyMs,
          message: `${target} answers (${role})`,
          details: { readOnly: readOnly === '1' },
        };
      } catch (error) {
        return { ok: false, latencyMs: elapsed(start), message: `${target}: ${failureText(error)}` };
      }
    },
  };
}
