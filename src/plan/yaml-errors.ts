/**
 * The YAML library's errors and warnings as findings a person can act on: its messages speak
 * to programmers ("please use YAML.parseAllDocuments()"), so the known ones are said again
 * in the plan's terms, each with what to change.
 */
import type { Document, LineCounter } from 'yaml';
import type { Finding } from './findings.js';

interface Said {
  message: string;
  hint: string;
}

/** By the library's error code; others keep its first line, which reads well enough. */
const SAID: Record<string, Said> = {
  MULTIPLE_DOCS: {
    message: 'a second YAML document starts here (a `---` line); a plan is one document',
    hint: 'remove the `---` line, or keep one plan per file',
  },
  TAB_AS_INDENT: {
    message: 'a tab indents this line; YAML indents with spaces only',
    hint: 'replace the tabs at the start of the line with spaces',
  },
  BAD_INDENT: {
    message: 'this line is not indented like the lines of the same mapping or list',
    hint: 'align keys of one mapping (and items of one list) at the same column, with spaces',
  },
  MULTILINE_IMPLICIT_KEY: {
    message: 'a key runs over more than one line',
    hint: 'is a `:` missing after a key, or a quote left open on the line before?',
  },
  BLOCK_AS_IMPLICIT_KEY: {
    message: 'a nested mapping or list starts on the same line as its key',
    hint: 'put the nested keys on the lines below, indented, or write it in braces `{ a: 1 }`',
  },
  RESOURCE_EXHAUSTION: {
    message: 'the YAML is nested too deeply to read',
    hint: 'is this the right file? Check for brackets `[` or `{` that are never closed',
  },
  KEY_OVER_1024_CHARS: {
    message: 'a key is longer than 1024 characters',
    hint: 'is a `:` missing after a long text, or a quote left open?',
  },
  DUPLICATE_KEY: {
    message: 'this key appears twice in the mapping',
    hint: 'each key may appear once in a mapping; merge the two',
  },
};

export function yamlErrorFindings(doc: Document, lines: LineCounter): Finding[] {
  const toFinding =
    (severity: 'error' | 'warning') =>
    (e: { message: string; pos: [number, number]; code: string }): Finding => {
      const { line, col } = lines.linePos(e.pos[0]);
      const said = SAID[e.code] ?? (/call stack/i.test(e.message) ? SAID.RESOURCE_EXHAUSTION : undefined);
      return {
        rule: e.code === 'DUPLICATE_KEY' ? 'duplicate-key' : 'yaml-syntax',
        severity,
        path: '',
        line,
        column: col,
        message: said?.message ?? firstLine(e.message),
        hint: said?.hint ?? 'check indentation and quoting near this line',
      };
    };
  return [...doc.errors.map(toFinding('error')), ...doc.warnings.map(toFinding('warning'))];
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}
