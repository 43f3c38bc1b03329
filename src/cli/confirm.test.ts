import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { RefusedError } from '../errors.js';
import { confirmTyped } from './confirm.js';

/** A fake terminal: what the user types goes into `input`; what we print lands in `printed`. */
function terminal(typed: string) {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  const output = Object.assign(new PassThrough(), { isTTY: true });
  let printed = '';
  output.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  setImmediate(() => input.write(typed));
  return { input, output, printed: () => printed };
}

describe('confirmTyped', () => {
  test('on a terminal, typing the expected word confirms', async () => {
    const t = terminal('orders\n');
    await confirmTyped({ expected: 'orders', message: 'This drops database orders.', yes: false, ...t });
    assert.match(t.printed(), /This drops database orders\.[\s\S]*Type orders to confirm/);
  });

  test('on a terminal, anything else refuses', async () => {
    for (const typed of ['y\n', 'Orders\n', '\n']) {
      await assert.rejects(
        confirmTyped({ expected: 'orders', message: 'm', yes: false, ...terminal(typed) }),
        (e: unknown) => e instanceof RefusedError && e.exitCode === 4,
      );
    }
  });

  test('without a terminal only --yes confirms', async () => {
    const notTty = { input: new PassThrough(), output: new PassThrough() };
    await assert.rejects(confirmTyped({ expected: 'orders', message: 'm', yes: false, ...notTty }), /--yes/);
    await confirmTyped({ expected: 'orders', message: 'm', yes: true, ...notTty });
  });
});
