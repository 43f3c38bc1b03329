/**
 * restic's `--exclude` pattern rules, so that a files fingerprint skips what restic skipped:
 * a pattern that starts with `/` is matched from the root, any other against the end of the
 * path (`*.log`, `cache/tmp`); `*` and `?` stay within one path component, `**` spans any
 * number of them; a matching directory takes its contents with it. Environment variables in
 * patterns (restic expands `$HOME`) are not supported.
 */

/** True when `path` (absolute) or one of its parent directories matches one of `patterns`. */
export function excluded(path: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return false;
  const parts = path.split('/').filter((p) => p !== '');
  for (let length = 1; length <= parts.length; length++) {
    const prefix = parts.slice(0, length);
    if (patterns.some((pattern) => matches(pattern, prefix))) return true;
  }
  return false;
}

function matches(pattern: string, path: string[]): boolean {
  const anchored = pattern.startsWith('/');
  const parts = pattern.split('/').filter((p) => p !== '');
  if (parts.length === 0) return false;
  if (anchored) return matchParts(parts, 0, path, 0);
  // Unanchored: the pattern may start at any component.
  for (let start = 0; start < path.length; start++) if (matchParts(parts, 0, path, start)) return true;
  return false;
}

function matchParts(pattern: string[], pi: number, path: string[], si: number): boolean {
  if (pi === pattern.length) return si === path.length;
  const part = pattern[pi] as string;
  if (part === '**') {
    for (let skip = si; skip <= path.length; skip++) if (matchParts(pattern, pi + 1, path, skip)) return true;
    return false;
  }
  if (si === path.length) return false;
  return componentRegex(part).test(path[si] as string) && matchParts(pattern, pi + 1, path, si + 1);
}

const cache = new Map<string, RegExp>();

function componentRegex(glob: string): RegExp {
  let re = cache.get(glob);
  if (re) return re;
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) out += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        out += `[${body.startsWith('^') || body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) {
      out += (glob[++i] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else out += c.replace(/[.+^${}()|]/g, '\\$&');
  }
  re = new RegExp(`^${out}$`, 's');
  cache.set(glob, re);
  return re;
}
