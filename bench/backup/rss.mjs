// Preloaded into the Lifeboat process by the benchmark: records its own peak resident memory
// (not its children's: pg_dump and restic are the baseline's tools too).
import { writeFileSync } from 'node:fs';

const out = process.env.LIFEBOAT_BENCH_RSS_FILE;
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS * 1024)));
