/** Human formats for terminals: sizes, rates, ages (pretty-bytes and pretty-ms do the arithmetic). */
import prettyBytes from 'pretty-bytes';
import prettyMs from 'pretty-ms';

/** `755 MiB`, `1.5 KiB`, `0 B`: binary units, as restic and pgBackRest print them. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '-';
  return prettyBytes(bytes < 1024 ? Math.round(bytes) : bytes, { binary: true, maximumFractionDigits: 1 });
}

/** A rate in bytes per second; `-` before anything was measured. */
export function formatRate(bytesPerSecond: number): string {
  return bytesPerSecond > 0 && Number.isFinite(bytesPerSecond) ? `${formatBytes(bytesPerSecond)}/s` : '-';
}

/** `3.2s`, `1m 59s`, `1d 2h`: two units at most, never `1m60s`. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  return prettyMs(seconds * 1000, {
    unitCount: 2,
    secondsDecimalDigits: seconds < 10 ? 1 : 0,
    millisecondsDecimalDigits: 0,
  });
}

/** A plain text table: columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}
