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
 * A function that masks URL credentials and every given secret value (also in its
 * percent-encoded form, as it appears inside URLs). Empty values are ignored; the longest
 * secrets are replaced first so that a secret containing another is masked whole.
 */
export function createRedactor(secrets: Iterable<string | undefined>): Redactor {
  const values = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    values.add(secret);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) values.add(encoded);
  }
  const ordered = [...values].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = redactUrl(text);
    for (const value of ordered) out = out.split(value).join(MASK);
    return out;
  };
}

/** The secret values among `env`: those whose names look like credentials. */
export function secretEnvValues(env: Record<string, string> | undefined): string[] {
  if (!env) return [];
  return Object.entries(env)
    .filter(([name]) => isSecretEnvName(name))
    .map(([, value]) => value);
}
