/**
 * Where a physical dataset's pgBackRest repository is, from the plan: a local path, or S3.
 * Pure: secrets stay `env:`/`file:` references here and are resolved only when the
 * configuration file is written.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import type { Plan } from '../../plan/schema.js';

export type PgbackrestRepository =
  | { kind: 'local'; id: string; path: string }
  | {
      kind: 's3';
      id: string;
      endpoint: string;
      /** Only when the URL names one; pgBackRest's default is 443. */
      port?: number;
      bucket: string;
      /** Path inside the bucket, starting with `/`. */
      path: string;
      region: string;
      verifyTls: boolean;
      caFile?: string;
      /** `env:`/`file:` references (or clear text the plan allowed) for the S3 key pair. */
      key?: string;
      keySecret?: string;
      token?: string;
    };

/**
 * The dataset's repository. An id the plan does not declare is Lifeboat's own repository
 * when it is the default the caller names (`defaultId`): `<homeDir>/pgbackrest/repo`, one
 * repository for every stanza.
 */
export function planPgbackrestRepository(
  plan: Plan,
  id: string,
  planDir: string,
  homeDir: string,
  defaultId: string,
): PgbackrestRepository {
  const config = plan.repositories?.[id];
  if (!config) {
    if (id === defaultId) return { kind: 'local', id, path: join(homeDir, 'pgbackrest', 'repo') };
    throw new UsageError(`unknown repository '${id}'`, {
      hint: 'declare it under repositories with `type: pgbackrest`',
    });
  }
  if (config.type !== 'pgbackrest') {
    throw new UsageError(`repositories.${id} is a restic repository; physical backups need pgBackRest`, {
      hint: `give repositories.${id} \`type: pgbackrest\`, or point backup.repository at one that has it`,
    });
  }
  if (!config.url.startsWith('s3:')) {
    if (/^[a-z0-9]+:/i.test(config.url) && !isAbsolute(config.url)) {
      throw new UsageError(
        `repositories.${id}.url: pgBackRest repositories are a local path or s3:https://...`,
        {
          hint: 'sftp: and rest: are restic backends; pgBackRest reaches remote storage through S3',
        },
      );
    }
    return { kind: 'local', id, path: resolve(planDir, config.url) };
  }
  const s3 = parseS3Url(config.url.slice(3), `repositories.${id}.url`);
  const env = config.env ?? {};
  return {
    kind: 's3',
    id,
    ...s3,
    region: config.region ?? env.AWS_DEFAULT_REGION ?? env.AWS_REGION ?? 'us-east-1',
    verifyTls: config.verify_tls ?? true,
    ...(config.cacert ? { caFile: resolve(planDir, config.cacert) } : {}),
    ...(env.AWS_ACCESS_KEY_ID ? { key: env.AWS_ACCESS_KEY_ID } : {}),
    ...(env.AWS_SECRET_ACCESS_KEY ? { keySecret: env.AWS_SECRET_ACCESS_KEY } : {}),
    ...(env.AWS_SESSION_TOKEN ? { token: env.AWS_SESSION_TOKEN } : {}),
  };
}

/**
 * `https://host[:port]/bucket/path` (restic's form after `s3:`; a bare `host/bucket` means
 * https). pgBackRest 2.45 speaks to S3 over TLS only, so `http://` is refused here rather
 * than failing later with a TLS handshake error.
 */
export function parseS3Url(
  url: string,
  field: string,
): { endpoint: string; port?: number; bucket: string; path: string } {
  if (url.startsWith('http://')) {
    throw new UsageError(`${field}: pgBackRest reaches S3 only over TLS, not ${url}`, {
      hint: 'use an https:// endpoint; for a test endpoint with a self-signed certificate set `verify_tls: false` or `cacert`',
    });
  }
  const rest = url.startsWith('https://') ? url.slice('https://'.length) : url;
  const match = /^([^/:]+)(?::(\d+))?\/([^/]+)(\/.*)?$/.exec(rest);
  if (!match) {
    throw new UsageError(`${field}: expected s3:https://host[:port]/bucket[/path], not s3:${url}`);
  }
  const [, endpoint = '', port, bucket = '', path] = match;
  const trimmed = (path ?? '/').replace(/\/+$/, '');
  return {
    endpoint,
    ...(port ? { port: Number(port) } : {}),
    bucket,
    path: trimmed === '' ? '/' : trimmed,
  };
}
