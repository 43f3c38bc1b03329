import assert from 'node:assert/strict';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { OperationError, UsageError } from '../../errors.js';
import { commandSource } from './source.js';
import type { StreamUnit } from '../store.js';
import { pipeProducer } from '../../system/tool.js';

describe('command source', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-command-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("stores the command's output and pipes it into the restore command", async () => {
    const source = commandSource(
      {
        type: 'command',
        command: "printf 'line one\\nbinary \\000\\377 end'",
        restore: 'cat > "$LIFEBOAT_RESTORE_DIR/restored.out"',
      },
      { dataset: 'export' },
    );
    await source.check();
    const [unit] = (await source.units()) as StreamUnit[];
    assert.equal(unit?.filename, 'export.out');
    const file = join(dir, 'export.out');
    await pipeProducer(unit.producer, createWriteStream(file));
    const expected = Buffer.concat([
      Buffer.from('line one\nbinary '),
      Buffer.from([0, 255]),
      Buffer.from(' end'),
    ]);
    assert.deepEqual(readFileSync(file), expected);

    await source.restoreUnit('export.out', createReadStream(file), { kind: 'directory', path: dir });
    assert.deepEqual(readFileSync(join(dir, 'restored.out')), expected);
    const fingerprint = await source.fingerprint();
    assert.equal(fingerprint.items['export.out']?.bytes, expected.length);
    await assert.rejects(source.fingerprintOf({ kind: 'directory', path: dir }), UsageError);
  });

  test('a failing command or restore is an OperationError; no restore command is a UsageError', async () => {
    const failing = commandSource(
      {
        type: 'command',
        command: 'echo partial; echo broken >&2; exit 3',
        restore: 'cat >/dev/null; exit 4',
      },
      { dataset: 'x', baseDir: dir },
    );
    const [unit] = (await failing.units()) as StreamUnit[];
    const partial = createWriteStream(join(dir, 'x.out'));
    await assert.rejects(pipeProducer(unit!.producer, partial), (error: unknown) => {
      assert.ok(error instanceof OperationError);
      assert.match(error.message, /exit 3.*broken/);
      return true;
    });
    assert.equal(
      partial.writableEnded,
      false,
      'a failed producer leaves the destination open for the caller to abort',
    );
    await new Promise((resolve) => partial.end(resolve));
    await assert.rejects(
      failing.restoreUnit('x.out', createReadStream(join(dir, 'x.out')), { kind: 'directory', path: dir }),
      OperationError,
    );
    const noRestore = commandSource({ type: 'command', command: 'true' }, { dataset: 'y' });
    await assert.rejects(
      noRestore.restoreUnit('y.out', Readable.from([Buffer.from('data')]), { kind: 'directory', path: dir }),
      UsageError,
    );
  });
});
