/**
 * A shell command that must exit 0, run in the plan's directory like every other command the
 * plan names. The runner's timeout kills it (runTool's own limit), so a hung script cannot
 * pile up processes.
 */
import type { Probe as ProbeConfig } from '../plan/schema.js';
import { firstLines, runTool } from '../system/tool.js';
import { elapsed, failureText, type Probe, type ProbeContext } from './probe.js';

type CommandConfig = Extract<ProbeConfig, { type: 'command' }>;

export function commandProbe(
  id: string,
  config: Pick<CommandConfig, 'command'>,
  context: ProbeContext,
  timeoutMs: number,
): Probe {
  const target = config.command;
  return {
    id,
    kind: 'command',
    target,
    async check() {
      const start = process.hrtime.bigint();
      try {
        // runTool takes no signal: its timeout is the runner's, and an earlier abort (the
        // runner stopping) only waits for that bound.
        const result = await runTool('sh', ['-c', config.command], {
          cwd: context.planDir,
          timeoutMs,
        });
        const latencyMs = elapsed(start);
        const output = firstLines(`${result.stderr}\n${result.stdout}`.trim(), 1);
        if (result.code === 0)
          return { ok: true, latencyMs, message: `${target} exited 0`, details: { exitCode: 0 } };
        const how =
          result.signal !== null
            ? `was killed (${result.signal}), timeout ${timeoutMs} ms`
            : `exited ${result.code}`;
        return {
          ok: false,
          latencyMs,
          message: `${target} ${how}${output ? `: ${output}` : ''}`,
          details: { exitCode: result.code, signal: result.signal },
        };
      } catch (error) {
        return {
          ok: false,
          latencyMs: elapsed(start),
          message: `${target} could not run: ${failureText(error)}`,
        };
      }
    },
  };
}
