/**
 * Progress of long work. On a terminal: one line rewritten in place (bytes, rate, ETA when
 * the total is known). With --json: one JSON event per line on stderr, so that stdout keeps
 * the single result document.
 */
import { formatBytes, formatSeconds } from './format.js';

export interface ProgressSample {
  label: string;
  bytesDone: number;
  /** 0 when unknown (a stream). */
  totalBytes: number;
  secondsElapsed: number;
}

export interface ProgressReporter {
  update(sample: ProgressSample): void;
  event(event: Record<string, unknown>): void;
  /** Prints a line that stays (ends the in-place line first). */
  line(text: string): void;
  done(): void;
}

export function progressReporter(options: { json: boolean; stream?: NodeJS.WriteStream }): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const live = !options.json && stream.isTTY === true;
  let lastDraw = 0;
  let drawn = false;
  const clear = () => {
    if (drawn) stream.write('\r\x1b[K');
    drawn = false;
  };
  return {
    update(sample) {
      if (options.json) {
        stream.write(JSON.stringify({ event: 'progress', ...sample }) + '\n');
        return;
      }
      if (!live) return;
      const now = Date.now();
      if (now - lastDraw < 200) return;
      lastDraw = now;
      const rate = sample.secondsElapsed > 0 ? sample.bytesDone / sample.secondsElapsed : 0;
      const eta =
        sample.totalBytes > 0 && rate > 0
          ? `, ETA ${formatSeconds((sample.totalBytes - sample.bytesDone) / rate)}`
          : '';
      const total = sample.totalBytes > 0 ? ` of ${formatBytes(sample.totalBytes)}` : '';
      clear();
      stream.write(
        `  ${sample.label}: ${formatBytes(sample.bytesDone)}${total} at ${formatBytes(rate)}/s${eta}`,
      );
      drawn = true;
    },
    event(event) {
      if (options.json) stream.write(JSON.stringify(event) + '\n');
    },
    line(text) {
      if (options.json) return;
      clear();
      stream.write(text + '\n');
    },
    done() {
      clear();
    },
  };
}
