/** inline-secret: credentials written into the plan instead of referenced with env:/file:. */
import { isSecretRef } from '../secret.js';
import type { Rule, RuleHit } from './rule.js';
import { strings } from './walk.js';

const TOKEN_PATTERNS: [RegExp, string][] = [
  [/\bsk-[A-Za-z0-9_-]{20,}/, 'an API key'],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/, 'a Slack token'],
  [/\bAKIA[0-9A-Z]{16}\b/, 'an AWS access key id'],
  [/\bgh[pousr]_[A-Za-z0-9]{30,}/, 'a GitHub token'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
  [/hooks\.slack\.com\/services\/[A-Za-z0-9/]+/, 'a Slack webhook URL'],
];
// user:password@ in a URL, unless the password is a shell or template variable.
const URL_CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:(?![$%{])([^/\s@]+)@/i;
const SECRET_HEADER = /^(authorization|x-api-key|api-key|x-auth-token|private-token)$/i;

export const inlineSecret: Rule = {
  id: 'inline-secret',
  severity: 'error',
  summary: 'Secrets never live in the plan: refer to them with `env:NAME` or `file:PATH`.',
  check({ plan }) {
    const hits: RuleHit[] = [];
    for (const { text, path } of strings(plan)) {
      if (isSecretRef(text)) continue;
      const found = TOKEN_PATTERNS.find(([re]) => re.test(text));
      const key = String(path[path.length - 1]);
      let what: string | undefined = found?.[1];
      if (!what && URL_CREDENTIALS.test(text)) what = 'a password inside a URL';
      if (
        !what &&
        path[path.length - 2] === 'headers' &&
        SECRET_HEADER.test(key) &&
        /[A-Za-z0-9]{16,}/.test(text)
      )
        what = `a credential in the ${key} header`;
      if (!what) continue;
      hits.push({
        path,
        message: `${what} is written in the plan`,
        hint: 'move it to an environment variable or a file outside the repository and write `env:NAME` or `file:PATH`; rotate it if this file was ever shared',
      });
    }
    return hits;
  },
};
