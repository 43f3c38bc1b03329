/**
 * Reading `--to` into a restore target, the part every kind shares: `source` or a value
 * (secrets resolved), `--database` only where a kind has databases, and a directory that is
 * neither a URL nor inside Lifeboat's own directory. The dataset's driver reads the rest.
 *
 * The rule the targets serve is "nothing is lost": the driver's `observeTarget` lists
 * everything a restore would replace, and the restore refuses to run while that list is not
 * empty unless the user confirmed it.
 */
import { resolve } from 'node:path';
import { RefusedError, UsageError } from '../errors.js';
import { resolveSecret } from '../plan/secret.js';
import type { SourceConfig } from '../plan/schema.js';
import { DIRECTORY_HINT, findStore, type DirectoryTarget, type TargetSpec } from '../stores/index.js';
import { canonical, isInside } from '../stores/paths.js';
import { redactUrl } from '../engines/restic/redact.js';

export interface TargetRequest {
  dataset: string;
  /** The dataset's source, secrets resolved. */
  source: SourceConfig;
  /** `--to`: `source`, a server URL (or `env:NAME` holding one), or a directory. */
  to: string;
  /** `--database SRC` or `SRC=DEST`, repeated (PostgreSQL and MySQL). */
  databases: string[];
  /** The databases the recovery point holds. */
  backedUpDatabases: string[];
  planDir: string;
  /** `.lifeboat/`: never a restore target. */
  homeDir: string;
  /** Relative directory targets start here. Default: process.cwd(). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Reads `--to` for the dataset's kind of source. Throws UsageError or RefusedError. No I/O but secrets. */
export function resolveTarget(request: TargetRequest): TargetSpec {
  const { source, dataset } = request;
  const store = findStore(source.type);
  const to = request.to.trim();
  if (to === '') throw new UsageError('--to is empty', { hint: store?.targetHint ?? DIRECTORY_HINT });
  const isSource = to === 'source';
  if (!store) {
    throw new UsageError(
      `dataset '${dataset}' is kept by a vendor (external source); Lifeboat has no backup of it to restore`,
    );
  }
  const value = isSource ? '' : resolveSecret(to, request.planDir, request.env);
  if (!store.databases && request.databases.length > 0) {
    throw new UsageError(
      `--database applies to PostgreSQL and MySQL datasets; '${dataset}' is ${source.type}`,
    );
  }
  return store.resolveTarget({
    dataset,
    config: source,
    to,
    isSource,
    value,
    databases: request.databases,
    backedUpDatabases: request.backedUpDatabases,
    planDir: request.planDir,
    directory: () => directoryTarget(request, value, store.targetHint),
  });
}

/** `value` as a directory: never a URL, never inside Lifeboat's own directory. */
function directoryTarget(request: TargetRequest, value: string, hint: string): DirectoryTarget {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new UsageError(
      `dataset '${request.dataset}' (${request.source.type}) is restored into a directory, not ${redactUrl(value)}`,
      {
        hint,
      },
    );
  }
  const path = canonical(resolve(request.cwd ?? process.cwd(), value));
  const home = canonical(resolve(request.homeDir));
  if (isInside(path, home)) {
    throw new RefusedError(
      `${path} is inside Lifeboat's own directory ${home} (state and repository); a restore never goes there`,
      {
        hint: 'restore into a directory outside it',
      },
    );
  }
  return { kind: 'directory', path, source: false };
}
