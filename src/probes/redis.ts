/**
 * Redis: PING, then ROLE (master, slave or sentinel) in the same redis-cli session, so that
 * one process start answers both. The password travels in REDISCLI_AUTH (parseRedisUrl).
 */
import { parseRedisUrl, redisFailure } from '../stores/redis/client.js';
import { runTool } from '../system/tool.js';
import { abortMessage, elapsed, failureText, type Probe } from './probe.js';

export function redisProbe(id: string, url: string, timeoutMs: number): Probe {
  const conn = parseRedisUrl(url);
  const target = `Redis at ${conn.host}:${conn.port}`;
  return {
    id,
    kind: 'redis',
    target,
    async check(signal) {
      const start = process.hrtime.bigint();
      try {
        const result = await runTool('redis-cli', [...conn.args, '-e', '--raw'], {
          env: conn.env,
          stdin: 'PING\nROLE\n',
          secrets: conn.password ? [conn.password] : [],
          timeoutMs,
        });
        const latencyMs = elapsed(start);
        if (signal.aborted) return { ok: false, latencyMs, message: abortMessage(signal, target) };
        const lines = result.stdout.split('\n').map((line) => line.trim());
        if (result.code !== 0 || lines[0] !== 'PONG')
          return { ok: false, latencyMs, message: failureText(redisFailure(conn, result, 'PING')) };
        // ROLE's first element; redis-cli --raw prints an array one element per line.
        const role = lines[1] === 'slave' ? 'replica' : (lines[1] ?? 'unknown');
        return { ok: true, latencyMs, message: `${target} answers PING as ${role}`, details: { role } };
      } catch (error) {
        return { ok: false, latencyMs: elapsed(start), message: `${target}: ${failureText(error)}` };
      }
    },
  };
}
