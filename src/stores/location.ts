/** Where a server source is, in words: ` at HOST:PORT` (the kind's default port when the URL has none). */
export function urlLocation(url: string | undefined, defaultPort: string): string {
  if (!url) return '';
  try {
    const parsed = new URL(url.replace(/^postgresql:/, 'postgres:'));
    return ` at ${parsed.hostname}:${parsed.port || defaultPort}`;
  } catch {
    return '';
  }
}
