/** Who an audit entry names as having acted: the OS user behind the command line. */
export function actor(): string {
  const user = process.env.USER ?? process.env.LOGNAME ?? 'unknown';
  return `cli:${user}`;
}
