/**
 * The Prometheus text exposition format, version 0.0.4: metric families in, text out. Pure;
 * what the families mean is decided elsewhere (dataset-metrics.ts, scheduler-metrics.ts).
 *
 * A value that is not known has no sample at all: a family is given only the samples it
 * can measure, and a family with none is left out, so that a query never mistakes a
 * placeholder for a measurement.
 */

/** The Content-Type of what `renderExposition` writes. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'gauge' | 'counter';

export interface Sample {
  /** Label names to values, in the order they are written. Default: no labels. */
  labels?: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  /** In base units (`_seconds`, `_bytes`); a counter's name ends in `_total`. */
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The exposition of the families, in the order given; families without samples are left out. */
export function renderExposition(families: MetricFamily[]): string {
  const seen = new Set<string>();
  let text = '';
  for (const family of families) {
    if (family.samples.length === 0) continue;
    checkFamily(family);
    if (seen.has(family.name)) throw new Error(`metrics: family ${family.name} is given twice`);
    seen.add(family.name);
    text += `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
    const series = new Set<string>();
    for (const sample of family.samples) {
      const labels = formatLabels(sample.labels ?? {});
      // Two samples of one series would make the whole scrape fail in Prometheus.
      if (series.has(labels)) throw new Error(`metrics: ${family.name}${labels} is given twice`);
      series.add(labels);
      text += `${family.name}${labels} ${formatValue(sample.value)}\n`;
    }
  }
  return text;
}

/** A label value as written between double quotes: backslash, double quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes only backslash and newline (a double quote stands as is). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as Prometheus parses it (Go's ParseFloat, plus `NaN`, `+Inf`, `-Inf`). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  // String() of -0 is `0`, and its exponents (`1e+21`, `5e-7`) are ones ParseFloat reads.
  return String(value);
}

function formatLabels(labels: Record<string, string>): string {
  const pairs = Object.entries(labels);
  if (pairs.length === 0) return '';
  return `{${pairs.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`;
}

// A malformed name is a bug in the caller, never the user's input: a plain Error.
function checkFamily(family: MetricFamily): void {
  if (!METRIC_NAME.test(family.name)) throw new Error(`metrics: invalid metric name ${family.name}`);
  if (family.type === 'counter' && !family.name.endsWith('_total')) {
    throw new Error(`metrics: counter ${family.name} must end in _total`);
  }
  for (const sample of family.samples) {
    for (const name of Object.keys(sample.labels ?? {})) {
      if (!LABEL_NAME.test(name) || name.startsWith('__')) {
        throw new Error(`metrics: invalid label name ${name} in ${family.name}`);
      }
    }
    if (family.type === 'counter' && !(sample.value >= 0)) {
      throw new Error(`metrics: counter ${family.name} cannot be ${sample.value}`);
    }
  }
}
