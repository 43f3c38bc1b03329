/** The completion scripts, run by the shells themselves where they are installed. */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BIN } from './testing/run-cli.js';
import { commandWords, completionScript } from './completion.js';
import { commands } from './commands.js';

const has = (shell: string) => spawnSync(shell, ['--version'], { stdio: 'ignore' }).status === 0;

/** What bash completes for the words typed so far (the last one being completed). */
function bashComplete(words: string[]): string[] {
  const script = execFileSync(process.execPath, [BIN, 'completion', 'bash'], { encoding: 'utf8' });
  const out = execFileSync(
    'bash',
    [
      '-c',
      `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _lifeboat; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  );
  return out.split('\n').filter(Boolean);
}

describe('shell completion', () => {
  test('bash completes commands, the second word of a group, and the common options', () => {
    assert.deepEqual(bashComplete(['lifeboat', 'pl']), ['plan']);
    assert.deepEqual(bashComplete(['lifeboat', 'plan', 'ch']), ['check']);
    assert.deepEqual(bashComplete(['lifeboat', 'standby', '']), ['create', 'rejoin']);
    assert.deepEqual(bashComplete(['lifeboat', 'status', '--j']), ['--json']);
  });

  test('every command of the table is offered', () => {
    const { first, groups } = commandWords(commands.map((c) => c.name));
    for (const { name } of commands) {
      const [head, second] = name.split(' ');
      assert.ok(first.includes(head!), name);
      if (second) assert.ok(groups.get(head!)?.includes(second), name);
    }
  });

  for (const shell of ['zsh', 'fish'] as const)
    test(`${shell}: the script parses`, { skip: has(shell) ? false : `${shell} is not installed` }, () => {
      const dir = mkdtempSync(join(tmpdir(), 'lifeboat-completion-'));
      try {
        const file = join(dir, `lifeboat.${shell}`);
        writeFileSync(
          file,
          completionScript(
            shell,
            commands.map((c) => c.name),
          ),
        );
        const result = spawnSync(shell, ['-n', file], { encoding: 'utf8' });
        assert.equal(result.status, 0, result.stderr);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
});
