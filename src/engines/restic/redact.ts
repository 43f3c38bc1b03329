/**
 * Anything restic prints may end up in a log line, an error message or `--json` output.
 * Before it leaves this module it goes through a redactor: URL credentials and the known
 * secret values of the repository are replaced by `***`.
 */

const MASK = '***';

// `scheme://user:password@host`: the scheme may be nested (`rest:https://`, `s3:https://`).
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*):([^/@\s]*)@/gi;

/** The URL with the password of its `user:password@` part masked; the user name stays for diagnosis. */
export function redactUrl(url: string): string {
  return url.replace(URL_USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:${MASK}@`);
}

/** The URL without any `user:password@` part: what identifies a repository whatever the credentials. */
export function stripUrlCredentials(url: string): string {
  return url.replace(URL_USERINFO, (_m, scheme: string) => scheme);
}

/** Names of environment variables whose values are treated as secrets. */
const SECRET_NAME = /SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIAL|SAS|AUTH/i;

export function isSecretEnvName(name: string): boolean {
  return SECRET_NAME.test(name);
}

export type Redactor = (text: string) => string;

/**
 * What restic prints whatever the password: the phrases of its messages (those errors.ts
 * classifies by, and the lines around them). A secret that is also a word of these (a
 * password `repository`, `wrong`, `locked`) is left alone inside them: masked there, the mask
 * would sit where everyone knows which word belongs, and so spell out the password.
 */
export const RESTIC_PHRASES: readonly string[] = [
  'Fatal: wrong password or no key found',
  'wrong password or no key found',
  'unable to create lock in backend: repository is already locked exclusively by',
  'unable to create lock in backend: repository is already locked by',
  'repository is already locked',
  'the `unlock` command can be used to remove stale locks',
  'lock was created at',
  'storage ID',
  'Fatal: unable to open config file',
  'Is there a repository at the following location?',
  'repository does not exist',
  'config file already exists',
  'Fatal: create key in repository at',
  'Fatal: create repository at',
  'no space left on device',
  'disk quota exceeded',
  'enter password for repository:',
  'created restic repository',
  'Please note that knowledge of your password is required to access',
  'the repository. Losing your password means that your data is',
  'irrecoverably lost.',
  'repository',
  'snapshot',
  'Fatal:',
  'no such file or directory',
  'using parent snapshot',
];

export interface RedactorOptions {
  /**
   * Text the caller shows anyway (the repository's URL without credentials): a secret inside
   * it is left there too, since a mask would point at it. Default: none.
   */
  known?: Iterable<string>;
}

/**
 * A function that masks URL credentials and every given secret value (also in its
 * percent-encoded form, as it appears inside URLs), except where the value is part of
 * restic's own phrases or of the caller's `known` text: there it is what anyone would read
 * with any other password, so leaving it tells nothing, while a mask would tell which word
 * the secret is. Empty values are ignored; the longest secrets are replaced first so that a
 * secret containing another is masked whole.
 *
 * What stays possible: a secret that is also a word of text restic prints about the user's
 * own data (a path, a host name) is masked there, and someone who knows that text learns the
 * secret. A password that is an ordinary word is weak for this and every other reason.
 */
export function createRedactor(
  secrets: Iterable<string | undefined>,
  options: RedactorOptions = {},
): Redactor {
  const values = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    values.add(secret);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) values.add(encoded);
  }
  const ordered = [...values].sort((a, b) => b.length - a.length);
  const known = [...RESTIC_PHRASES, ...(options.known ?? [])].filter((k) => k.length > 0);
  return (text) => maskOutside(redactUrl(text), ordered, known);
}

/**
 * `text` with each occurrence of `secrets` masked, unless it lies wholly inside a `known`
 * phrase: a longer secret that merely touches one (`repository-2024!`) is masked whole.
 */
function maskOutside(text: string, secrets: readonly string[], known: readonly string[]): string {
  if (secrets.length === 0) return text;
  const kept: [number, number][] = [];
  for (const phrase of known) for (const at of occurrences(text, phrase)) kept.push([at, at + phrase.length]);
  const masked: [number, number][] = [];
  const overlaps = (start: number, end: number, spans: [number, number][]) =>
    spans.some(([s, e]) => start < e && s < end);
  const inside = (start: number, end: number, spans: [number, number][]) =>
    spans.some(([s, e]) => s <= start && end <= e);
  for (const secret of secrets) {
    for (const at of occurrences(text, secret)) {
      const end = at + secret.length;
      if (!inside(at, end, kept) && !overlaps(at, end, masked)) masked.push([at, end]);
    }
  }
  masked.sort((a, b) => a[0] - b[0]);
  let out = '';
  let from = 0;
  for (const [start, end] of masked) {
    out += text.slice(from, start) + MASK;
    from = end;
  }
  return out + text.slice(from);
}

function occurrences(text: string, value: string): number[] {
  const found: number[] = [];
  for (let at = text.indexOf(value); at >= 0; at = text.indexOf(value, at + 1)) found.push(at);
  return found;
}

/** The secret values among `env`: those whose names look like credentials. */
export function secretEnvValues(env: Record<string, string> | undefined): string[] {
  if (!env) return [];
  return Object.entries(env)
    .filter(([name]) => isSecretEnvName(name))
    .map(([, value]) => value);
}
