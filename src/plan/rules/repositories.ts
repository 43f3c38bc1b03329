/**
 * Rules that catch now what `backup` would refuse later: a dataset pointed at a repository of
 * the wrong engine, and a repository URL its engine cannot use.
 */
import type { Repository } from '../schema.js';
import { entries, type Rule, type RuleHit } from './rule.js';

/** restic's backends (`restic init --help`); anything else would be read as a local directory. */
const RESTIC_SCHEMES = ['local', 'sftp', 'rest', 's3', 'b2', 'azure', 'gs', 'swift', 'rclone'];

/** repository-engine: physical backups go to pgBackRest, logical ones (and their copies) to restic. */
export const repositoryEngine: Rule = {
  id: 'repository-engine',
  severity: 'error',
  summary: 'A dataset whose backups go to a repository of the other engine: `backup` would refuse it.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    const repositories = plan.repositories ?? {};
    for (const [id, dataset] of entries(plan.datasets)) {
      const backup = dataset.backup;
      if (!backup) continue;
      const physical = backup.method === 'physical';
      const wanted = physical ? 'pgbackrest' : 'restic';
      const check = (repoId: string, path: PathLike) => {
        if (!Object.hasOwn(repositories, repoId)) return;
        const type = repositories[repoId]!.type ?? 'restic';
        if (type === wanted) return;
        hits.push({
          path,
          message: physical
            ? `dataset ${id} takes physical backups (pgBackRest), but repository ${repoId} is a restic repository`
            : `dataset ${id} takes logical backups (restic), but repository ${repoId} is a pgBackRest repository`,
          hint: physical
            ? `give repositories.${repoId} \`type: pgbackrest\`, or point backup.repository at a pgBackRest repository`
            : `point this at a restic repository, or set \`backup.method: physical\` for PostgreSQL`,
        });
      };
      if (backup.repository !== undefined) check(backup.repository, ['datasets', id, 'backup', 'repository']);
      backup.copy_to?.forEach((repoId, i) => check(repoId, ['datasets', id, 'backup', 'copy_to', i]));
    }
    return hits;
  },
};
type PathLike = (string | number)[];

/** repository-url: a URL whose scheme the repository's engine does not speak. */
export const repositoryUrl: Rule = {
  id: 'repository-url',
  severity: 'error',
  summary: "A repository URL its engine cannot use (restic's backends; pgBackRest's path or `s3:https://`).",
  check({ plan }) {
    const hits: RuleHit[] = [];
    for (const [id, repository] of entries(plan.repositories)) {
      const problem = urlProblem(repository);
      if (problem) hits.push({ path: ['repositories', id, 'url'], ...problem });
    }
    return hits;
  },
};

function urlProblem(repository: Repository): { message: string; hint: string } | undefined {
  const url = repository.url;
  // `env:`/`file:` are resolved at run time; a one-letter scheme is a Windows drive.
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || url.startsWith('/') || scheme === 'env' || scheme === 'file') return undefined;
  if ((repository.type ?? 'restic') === 'restic') {
    if (RESTIC_SCHEMES.includes(scheme)) return undefined;
    return {
      message: `restic has no '${scheme}:' backend; it would take '${url}' for a local directory`,
      hint:
        scheme === 'http' || scheme === 'https'
          ? `for a REST server write 'rest:${url}', for S3 's3:${url}'`
          : `use a path or one of ${RESTIC_SCHEMES.map((s) => `${s}:`).join(', ')}`,
    };
  }
  if (scheme !== 's3')
    return {
      message: `pgBackRest repositories are a local path or s3:https://..., not '${scheme}:'`,
      hint: 'sftp: and rest: are restic backends; pgBackRest reaches remote storage through S3',
    };
  const rest = url.slice(3);
  if (rest.startsWith('http://'))
    return {
      message: 'pgBackRest reaches S3 only over TLS, not http://',
      hint: 'use an https:// endpoint; for a test endpoint with a self-signed certificate set `verify_tls: false` or `cacert`',
    };
  if (!/^(https:\/\/)?[^/:]+(:\d+)?\/[^/]+/.test(rest))
    return {
      message: `expected s3:https://host[:port]/bucket[/path], not ${url}`,
      hint: 'name the endpoint and the bucket, e.g. s3:https://s3.amazonaws.com/my-bucket/lifeboat',
    };
  return undefined;
}
