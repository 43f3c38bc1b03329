/** Doctor: each dataset's source answers, and the tools can handle its server's version. */
import type { ProtectContext } from '../protect/context.js';
import { isProtectable, type Store } from '../stores/index.js';
import { SOURCE_TIMEOUT_MS, failed, withTimeout, type DoctorCheck } from './check.js';

/** A dataset's source answers (`source.check()`: reachable, logged in, tools present). */
export async function checkSource(context: ProtectContext, dataset: string): Promise<DoctorCheck> {
  const name = `dataset ${dataset}`;
  try {
    const handle = context.handle(dataset);
    const config = handle.source();
    const store = handle.store();
    const source = store.source(config, { dataset, baseDir: context.planDir });
    await withTimeout(source.check(), SOURCE_TIMEOUT_MS, `the ${config.type} source did not answer`);
    return { name, ok: true, detail: `${config.type} source reachable${store.location(config)}` };
  } catch (error) {
    return failed(name, error, 'check the source in the plan and that the server runs');
  }
}

/** The major version of an installed client tool, as doctor found it (undefined: missing or unreadable). */
export type ClientMajor = (client: NonNullable<Store['versionedClient']>) => number | undefined;

export async function checkSources(
  context: ProtectContext,
  clientMajor: ClientMajor,
): Promise<DoctorCheck[]> {
  const ids = Object.entries(context.plan.datasets ?? {})
    .filter(([, d]) => isProtectable(d.source))
    .map(([id]) => id);
  const results = await Promise.all(
    ids.map(async (id) => {
      const check = await checkSource(context, id);
      if (!check.ok) return [check];
      const handle = context.handle(id);
      const store = handle.store();
      const client = store.versionedClient;
      const major = client ? clientMajor(client) : undefined;
      if (!client || major === undefined) return [check];
      const version = await checkServerVersion(id, store, handle.source(), major).catch((error: unknown) =>
        failed(`${client.tool} vs dataset ${id}`, error, 'check the server'),
      );
      return [check, version];
    }),
  );
  return results.flat();
}

/** A dump tool refuses a server newer than itself (pg_dump). */
async function checkServerVersion(
  dataset: string,
  store: Store,
  config: Parameters<Store['source']>[0],
  clientMajor: number,
): Promise<DoctorCheck> {
  const client = store.versionedClient!;
  const name = `${client.tool} vs dataset ${dataset}`;
  const server = await client.server(config);
  if (server.major > clientMajor) {
    return {
      name,
      ok: false,
      detail: `${client.tool} ${clientMajor} cannot dump ${store.label} ${server.version} at ${server.where}`,
      fix: `apt-get install ${client.package(server.major)}`,
    };
  }
  return {
    name,
    ok: true,
    detail: `${client.tool} ${clientMajor} can dump ${store.label} ${server.version} at ${server.where}`,
  };
}
