/**
 * A corpus of malformed and outsized plans, generated here, fed to the built CLI as a user
 * would. For each: exit 1 (findings) or 2 (usage), a `file:line:column` where one applies,
 * never a stack trace or an internal error, and a bound on the CPU time it takes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN } from '../testing/run-cli.js';

const HEAD = 'version: 1\norganization: Acme\ndocument: { next_review: 2099-01-01 }\n';
const N = 20_000;

/** Each child reports its own CPU time on exit: wall time on a shared machine says little. */
const REPORT_CPU =
  "data:text/javascript,process.on('exit',()=>process.stderr.write('\\ncpu '+JSON.stringify(process.cpuUsage())+'\\n'))";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  cpuMs: number;
}

function run(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', REPORT_CPU, BIN, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = /\ncpu (.*)\n$/.exec(stderr);
      const usage = line ? (JSON.parse(line[1]!) as { user: number; system: number }) : undefined;
      resolve({
        code: code ?? -1,
        stdout,
        stderr: line ? stderr.slice(0, line.index) : stderr,
        cpuMs: usage ? (usage.user + usage.system) / 1000 : Infinity,
      });
    });
  });
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-malformed-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function chain(): string {
  const lines = [HEAD, 'services:'];
  for (let i = 0; i < N; i++)
    lines.push(`  s${i}: { rto: 1h${i + 1 < N ? `, depends_on: [s${i + 1}]` : ''} }`);
  return lines.join('\n') + '\n';
}
function fan(): string {
  const lines = [HEAD, 'services:', '  root: { rto: 1h }'];
  for (let i = 0; i < N; i++) lines.push(`  s${i}: { rto: 1h, depends_on: [root] }`);
  return lines.join('\n') + '\n';
}
function cycle(): string {
  const lines = [HEAD, 'services:'];
  for (let i = 0; i < N; i++) lines.push(`  s${i}: { rto: 1h, depends_on: [s${(i + 1) % N}] }`);
  return lines.join('\n') + '\n';
}
function aliasBomb(): string {
  const lines = [HEAD.trimEnd(), 'a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 12; i++)
    lines.push(
      `x${i}: &x${i} [${Array(10)
        .fill(i === 1 ? '*a' : `*x${i - 1}`)
        .join(', ')}]`,
    );
  return lines.join('\n') + '\n';
}
const utf16 = (text: string, bom: boolean, bigEndian: boolean) => {
  const le = Buffer.from(text, 'utf16le');
  const bytes = bigEndian ? Buffer.from(le).swap16() : le;
  const mark = bigEndian ? [0xfe, 0xff] : [0xff, 0xfe];
  return bom ? Buffer.concat([Buffer.from(mark), bytes]) : bytes;
};
const utf32 = (text: string, bom: boolean) => {
  const out: number[] = bom ? [0xff, 0xfe, 0x00, 0x00] : [];
  for (const c of text) out.push(c.codePointAt(0)!, 0, 0, 0);
  return Buffer.from(out);
};

interface Case {
  name: string;
  /** A file's content, or a function that makes the path to pass (a directory, a missing file). */
  content?: string | Buffer | (() => string | Buffer);
  path?: () => string;
  commands?: ('check' | 'graph' | 'render')[];
  exit: 1 | 2 | 0;
  /** Where the first error points, when a position applies. */
  at?: [number, number];
  says?: RegExp;
  cpuMs?: number;
}

const cases: Case[] = [
  {
    name: 'a dependency chain of 20,000 services',
    content: chain,
    commands: ['check', 'graph', 'render'],
    exit: 0,
    cpuMs: 4000,
  },
  {
    name: 'a fan of 20,000 services on one',
    content: fan,
    commands: ['check', 'graph', 'render'],
    exit: 0,
    cpuMs: 4000,
  },
  {
    name: 'a cycle through 20,000 services',
    content: cycle,
    exit: 1,
    at: [6, 31],
    says: /dependency cycle: .*… 19981 more …/,
    cpuMs: 4000,
  },
  {
    name: 'invalid UTF-8 (Latin-1 é)',
    content: Buffer.from(HEAD + 'services:\n  api: { name: "Caf\xe9" }\n', 'latin1'),
    exit: 1,
    at: [5, 20],
    says: /byte 0xE9 at offset \d+ is not valid UTF-8/,
  },
  {
    name: 'a truncated UTF-8 sequence at the end',
    content: Buffer.concat([Buffer.from(HEAD + 'organization: x'), Buffer.from([0xe2, 0x82])]),
    exit: 1,
    at: [4, 16],
    says: /not valid UTF-8/,
  },
  {
    name: 'UTF-16 LE with a BOM',
    content: utf16(HEAD, true, false),
    exit: 1,
    at: [1, 1],
    says: /UTF-16 \(little-endian\).*UTF-8/,
  },
  {
    name: 'UTF-16 BE without a BOM',
    content: utf16(HEAD, false, true),
    exit: 1,
    at: [1, 1],
    says: /UTF-16 \(big-endian\)/,
  },
  {
    name: 'UTF-32 LE with a BOM',
    content: utf32(HEAD, true),
    exit: 1,
    at: [1, 1],
    says: /UTF-32 \(little-endian\)/,
  },
  { name: 'UTF-32 LE without a BOM', content: utf32(HEAD, false), exit: 1, at: [1, 1], says: /UTF-32/ },
  { name: 'a UTF-8 BOM is accepted', content: '\ufeff' + HEAD, commands: ['check', 'render'], exit: 0 },
  { name: 'a NUL byte in text', content: HEAD + 'organization: a\u0000b\n', exit: 1, says: /NUL byte/ },
  {
    name: 'two YAML documents',
    content: HEAD + '---\nversion: 1\n',
    exit: 1,
    at: [4, 1],
    says: /second YAML document starts here/,
  },
  {
    name: 'an undefined alias',
    content: HEAD + 'services:\n  api: *defaults\n',
    exit: 1,
    at: [5, 8],
    says: /\*defaults refers to an anchor &defaults that is not defined/,
  },
  {
    name: 'an alias inside its own anchor',
    content: HEAD + 'services: &s { api: *s }\n',
    exit: 1,
    says: /repeat itself without end/,
  },
  { name: 'a billion laughs', content: aliasBomb, exit: 1, says: /billion laughs/ },
  {
    name: 'a duplicate key',
    content: HEAD + 'services:\n  api: {}\n  api: { rto: 1h }\n',
    exit: 1,
    at: [6, 3],
    says: /'api' appears twice in this mapping \(first at line 5\)/,
  },
  {
    name: 'a tab indent',
    content: HEAD + 'services:\n\tapi: {}\n',
    exit: 1,
    at: [5, 1],
    says: /tab indents this line/,
  },
  { name: 'a scalar plan', content: 'just words\n', exit: 1, at: [1, 1], says: /must be a mapping/ },
  { name: 'a list plan', content: '- version: 1\n', exit: 1, at: [1, 1], says: /must be a mapping/ },
  { name: 'an empty file', content: '', exit: 1, at: [1, 1], says: /empty/ },
  {
    name: 'a directory',
    path: () => (mkdirSync(join(dir, 'a-dir'), { recursive: true }), join(dir, 'a-dir')),
    exit: 2,
    says: /is a directory/,
  },
  { name: 'a missing file', path: () => join(dir, 'missing.yaml'), exit: 2, says: /plan file not found/ },
  {
    name: 'a path through a file',
    path: () => (writeFileSync(join(dir, 'f'), ''), join(dir, 'f', 'plan.yaml')),
    exit: 2,
    says: /a part of the plan path is a file/,
  },
  {
    name: 'a 50 MB file',
    content: () => Buffer.alloc(50 * 1024 * 1024, 0x23),
    exit: 1,
    at: [1, 1],
    says: /a plan is at most 2 MiB/,
  },
  {
    name: '10,000 nested flow mappings',
    content: () => HEAD + 'x: ' + '{a: '.repeat(10_000) + '1' + '}'.repeat(10_000) + '\n',
    exit: 1,
    says: /nested too deeply/,
  },
  {
    name: '10,000 nested block lists',
    content: () => HEAD + 'x:\n  ' + '- '.repeat(10_000) + 'x\n',
    exit: 1,
    says: /nested too deeply/,
  },
  {
    name: '100 nested lists',
    content: HEAD + 'x: ' + '['.repeat(100) + ']'.repeat(100) + '\n',
    exit: 1,
    at: [4, 67],
    says: /more than 64 levels/,
  },
  {
    name: 'a list as a key',
    content: HEAD + 'services:\n  ? [a, b]\n  : {}\n',
    exit: 1,
    at: [5, 5],
    says: /a key must be a name, not a list/,
  },
  { name: 'a missing key', content: HEAD + ': x\n', exit: 1, at: [4, 1], says: /a key is missing/ },
  {
    name: 'a __proto__ key',
    content: HEAD + '__proto__: { polluted: true }\n',
    exit: 1,
    at: [4, 1],
    says: /unknown key '__proto__'/,
  },
  {
    name: 'inherited member names as references',
    content: HEAD + 'services:\n  api: { rto: 1h, depends_on: [constructor, toString] }\n',
    exit: 1,
    at: [5, 32],
    says: /'constructor' is not declared in services/,
  },
  {
    name: 'a number where text is expected',
    content: HEAD + 'services:\n  api: { name: 12 }\n',
    exit: 1,
    at: [5, 16],
    says: /expected string, got number 12/,
  },
  {
    name: 'text where a number is expected',
    content: HEAD + 'datasets:\n  d: { retention: { daily: "7" } }\n',
    exit: 1,
    at: [5, 28],
    says: /expected number/,
  },
  {
    name: 'a quoted version',
    content: 'version: "1"\norganization: A\n',
    exit: 1,
    at: [1, 10],
    says: /is not one of 1/,
  },
];

describe('plan commands on a corpus of malformed plans', () => {
  let counter = 0;
  for (const c of cases) {
    for (const command of c.commands ?? ['check']) {
      test(`plan ${command}: ${c.name}`, async () => {
        let file: string;
        if (c.path) file = c.path();
        else {
          file = join(dir, `plan-${++counter}.yaml`);
          writeFileSync(file, typeof c.content === 'function' ? c.content() : (c.content ?? ''));
        }
        const result = await run(['plan', command, '--plan', file]);
        const output = result.stdout + result.stderr;
        assert.equal(result.code, c.exit, `exit code; output: ${output.slice(0, 2000)}`);
        assert.doesNotMatch(output, /\n\s+at .+:\d+:\d+\)?\n/, 'no stack trace');
        assert.doesNotMatch(output, /internal error/);
        assert.ok(result.cpuMs < (c.cpuMs ?? 2000), `took ${result.cpuMs.toFixed(0)} ms of CPU`);
        if (c.at) {
          const [line, column] = c.at;
          assert.ok(
            output.includes(`${file}:${line}:${column}: `) || output.includes(`:${line}:${column}: `),
            `expected ${line}:${column} in ${output.slice(0, 2000)}`,
          );
        }
        if (c.says) assert.match(output, c.says);
        if (c.exit === 2) assert.match(result.stderr, /\nhint: /, 'a usage error says what to do');
      });
    }
  }
});
