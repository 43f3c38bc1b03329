/**
 * Client routing: what stands between the applications and the primary and decides where
 * their connections go (pgbouncer, HAProxy, or a command that updates DNS or a load
 * balancer). Failover uses it twice: to fence (no client reaches the old primary any more)
 * and to route (clients reach the new one). One interface; one file per kind.
 */
import { EnvironmentError } from '../../errors.js';
import { firstLines, runTool } from '../../system/tool.js';
import type { Endpoint } from './server.js';

export interface RouteTarget extends Endpoint {
  /** The server's name, for messages. */
  name: string;
}

export interface RouterStatus {
  reachable: boolean;
  /** What failed, when not reachable. */
  error?: string;
  /** host:port clients are sent to now, when the router can tell. */
  target?: string;
}

export interface Router {
  readonly kind: 'pgbouncer' | 'haproxy' | 'command';
  /** For messages: `pgbouncer 127.0.0.1:6432`. */
  readonly name: string;
  /** True when the router can cut clients off by itself (pgbouncer KILL, HAProxy disable). */
  readonly canBlock: boolean;
  /** Whether the router answers, and where it sends clients. Never throws. */
  check(): Promise<RouterStatus>;
  /** Emergency fence: drop every client connection to the current target now; new ones wait or fail. */
  block(): Promise<void>;
  /** Planned fence: let running transactions finish, then hold new ones. Falls back to block() after `timeoutMs`. */
  pause(timeoutMs: number): Promise<void>;
  /** Sends clients to `target` and releases the ones held by block() or pause(). */
  switchTo(target: RouteTarget): Promise<void>;
}

export interface CommandRouterOptions {
  /**
   * Shell command run to send clients to a target; `{{target}}` becomes `host:port`,
   * `{{host}}`, `{{port}}` and `{{name}}` the parts (e.g. a DNS update or a load balancer API call).
   */
  switchCommand: string;
  /** Shell command that cuts clients off the current primary. Default: none (the router cannot fence). */
  blockCommand?: string;
  /** Shell command whose exit 0 means the router works. Default: none (assumed reachable). */
  checkCommand?: string;
  /** Kill a command after this long. Default: 30 s. */
  timeoutMs?: number;
}

/** A router driven by shell commands: the escape hatch for DNS, cloud load balancers and the like. */
export function commandRouter(options: CommandRouterOptions): Router {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const run = async (what: string, command: string): Promise<void> => {
    const result = await runTool('sh', ['-c', command], { timeoutMs });
    if (result.code !== 0)
      throw new EnvironmentError(
        `the ${what} command failed (exit ${result.code}): ${firstLines(result.stderr || result.stdout)}`,
        {
          hint: `Run it by hand to see why: ${command}`,
        },
      );
  };
  const block = async () => {
    if (options.blockCommand) await run('block', options.blockCommand);
  };
  return {
    kind: 'command',
    name: 'command router',
    canBlock: options.blockCommand !== undefined,
    check: async () => {
      if (!options.checkCommand) return { reachable: true };
      const result = await runTool('sh', ['-c', options.checkCommand], { timeoutMs });
      return result.code === 0
        ? { reachable: true }
        : {
            reachable: false,
            error: `check command exit ${result.code}: ${firstLines(result.stderr || result.stdout)}`,
          };
    },
    block,
    pause: block,
    switchTo: (target) => run('switch', fillTarget(options.switchCommand, target)),
  };
}

/** Replaces `{{target}}`, `{{host}}`, `{{port}}` and `{{name}}`; values are shell-quoted. */
export function fillTarget(command: string, target: RouteTarget): string {
  const values: Record<string, string> = {
    target: `${target.host}:${target.port}`,
    host: target.host,
    port: String(target.port),
    name: target.name,
  };
  return command.replace(/\{\{\s*(target|host|port|name)\s*\}\}/g, (_, key: string) =>
    shellQuote(values[key] ?? ''),
  );
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_.:/@-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
