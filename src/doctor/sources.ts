/** Doctor: each dataset's source answers. */
import type { ProtectContext } from '../protect/context.js';
import { createSource } from '../stores/index.js';
import { SOURCE_TIMEOUT_MS, failed, withTimeout, type DoctorCheck } from './check.js';
import { checkPostgresVersion } from './tools.js';

/** A dataset's source answers (`source.check()`: reachable, logged in, tools present). */
export async function checkSource(context: ProtectContext, dataset: string): Promise<DoctorCheck> {
  const name = `dataset ${dataset}`;
  try {
    const config = context.resolvedSource(dataset);
    const source = createSource(config, { dataset, baseDir: context.planDir });
    await withTimeout(source.check(), SOURCE_TIMEOUT_MS, `the ${config.type} source did not answer`);
    return { name, ok: true, detail: `${config.type} source reachable${where(config)}` };
  } catch (error) {
    return failed(name, error, 'check the source in the plan and that the server runs');
  }
}

function where(config: { type: string; url?: string; paths?: string[] }): string {
  if (config.type === 'files') return `: ${config.paths?.length ?? 0} path(s) readable`;
  if (!config.url) return '';
  try {
    const url = new URL(config.url.replace(/^postgresql:/, 'postgres:'));
    return ` at ${url.hostname}:${url.port || defaultPorts[config.type] || '?'}`;
  } catch {
    return '';
  }
}
const defaultPorts: Record<string, string> = { postgres: '5432', mysql: '3306', redis: '6379' };

export async function checkSources(
  context: ProtectContext,
  pgDumpMajor: number | undefined,
): Promise<DoctorCheck[]> {
  const ids = Object.entries(context.plan.datasets ?? {})
    .filter(([, d]) => d.source && d.source.type !== 'external')
    .map(([id]) => id);
  const results = await Promise.all(
    ids.map(async (id) => {
      const check = await checkSource(context, id);
      const source = check.ok ? context.resolvedSource(id) : undefined;
      if (source?.type !== 'postgres' || pgDumpMajor === undefined) return [check];
      const version = await checkPostgresVersion(id, source.url, pgDumpMajor).catch((error: unknown) =>
        failed(`pg_dump vs dataset ${id}`, error, 'check the server'),
      );
      return [check, version];
    }),
  );
  return results.flat();
}
