/**
 * The layering docs/architecture.md describes, kept honest: the lint's dependency rules fail
 * on a cycle and on an import that goes up a layer, and no use case names a data store kind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { storeKinds } from './stores/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sources(path, out);
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

describe('the layering', () => {
  test('dependency-cruiser refuses a cycle and an import that goes up a layer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-layers-'));
    try {
      copyFileSync(join(ROOT, '.dependency-cruiser.mjs'), join(dir, '.dependency-cruiser.mjs'));
      copyFileSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
      mkdirSync(join(dir, 'src', 'system'), { recursive: true });
      mkdirSync(join(dir, 'src', 'protect'), { recursive: true });
      writeFileSync(
        join(dir, 'src', 'system', 'low.ts'),
        "import { high } from '../protect/high.js';\nexport const low = () => high;\n",
      );
      writeFileSync(
        join(dir, 'src', 'protect', 'high.ts'),
        "import { low } from '../system/low.js';\nexport const high = () => low;\n",
      );
      const run = spawnSync(join(ROOT, 'node_modules', '.bin', 'depcruise'), ['src'], {
        cwd: dir,
        encoding: 'utf8',
      });
      assert.notEqual(run.status, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /error no-circular: src\/(system\/low|protect\/high)\.ts/);
      assert.match(run.stdout, /error lower-layers-not-up: src\/system\/low\.ts → src\/protect\/high\.ts/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('outside src/stores and src/plan, no source compares a value against a data store kind', () => {
    const kinds = storeKinds.join('|');
    const comparison = new RegExp(`(===|!==|case)\\s*'(${kinds})'|'(${kinds})'\\s*(===|!==)`);
    const offenders = sources(SRC)
      .filter((file) => !/^(stores|plan)\//.test(relative(SRC, file)))
      .filter((file) => !file.endsWith('.test.ts') && !file.includes('/testing/'))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .map((line, index) => ({ line, at: `${relative(ROOT, file)}:${index + 1}` }))
          .filter(({ line }) => comparison.test(line))
          .map(({ at, line }) => `${at}: ${line.trim()}`),
      );
    assert.deepEqual(offenders, []);
  });
});
