/**
 * Progress of long work. On a terminal: one line rewritten in place (bytes, rate, ETA when
 * the total is known). With --json: one JSON event per line on stderr, so that stdout keeps
 * the single result document.
 */
import { formatBytes, formatRate, formatSeconds } from './format.js';

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

/** Seconds of samples the rate is measured over: the recent pace, not the average since a slow start. */
const RATE_WINDOW_SECONDS = 5;

/**
 * The line shown for a sample, given the recent samples of the same label (oldest first).
 * No rate before a second of data has flowed, and no ETA without a rate or past the estimate.
 */
export function progressLine(sample: ProgressSample, recent: readonly ProgressSample[]): string {
  const first = recent.find((r) => sample.secondsElapsed - r.secondsElapsed <= RATE_WINDOW_SECONDS) ?? sample;
  const span = sample.secondsElapsed - first.secondsElapsed;
  const rate = span >= 1 ? (sample.bytesDone - first.bytesDone) / span : 0;
  const left = sample.totalBytes - sample.bytesDone;
  const eta = sample.totalBytes > 0 && rate > 0 && left > 0 ? `, ETA ${formatSeconds(left / rate)}` : '';
  const total = sample.totalBytes > 0 ? ` of ${formatBytes(sample.totalBytes)}` : '';
  return `  ${sample.label}: ${formatBytes(sample.bytesDone)}${total} at ${formatRate(rate)}${eta}`;
}

export function progressReporter(options: { json: boolean; stream?: NodeJS.WriteStream }): ProgressReporter {
  const stream = options.stream ?? process.stderr;
  const live = !options.json && stream.isTTY === true;
  let lastDraw = 0;
  let drawn = false;
  let recent: ProgressSample[] = [];
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
      recent = [
        ...recent.filter(
          (r) => r.label === sample.label && sample.secondsElapsed - r.secondsElapsed <= RATE_WINDOW_SECONDS,
        ),
        sample,
      ];
      const now = Date.now();
      if (now - lastDraw < 200) return;
      lastDraw = now;
      clear();
      stream.write(progressLine(sample, recent));
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
