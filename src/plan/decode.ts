/**
 * The bytes of a plan file → text. A plan is UTF-8 (a byte order mark is allowed and
 * dropped). Anything else gets a finding that says what the file looks like and where,
 * instead of being silently patched with U+FFFD and read as something the user never wrote.
 */
import type { Finding } from './findings.js';

export type Decoded = { text: string } | { finding: Finding };

const UTF8_BOM = [0xef, 0xbb, 0xbf];

export function decodePlanBytes(bytes: Uint8Array): Decoded {
  const wide = wideEncoding(bytes);
  if (wide) {
    return {
      finding: {
        rule: 'encoding',
        severity: 'error',
        path: '',
        line: 1,
        column: 1,
        message: `the file looks like ${wide.name} text; Lifeboat reads plans in UTF-8`,
        hint: `save it as UTF-8 (in the editor's "Save as" encoding, or \`iconv -f ${wide.iconv} -t UTF-8 FILE\`)`,
      },
    };
  }
  const start = UTF8_BOM.every((b, i) => bytes[i] === b) ? UTF8_BOM.length : 0;
  const body = bytes.subarray(start);
  const bad = firstInvalidUtf8(body);
  if (bad !== undefined) {
    return {
      finding: {
        rule: 'encoding',
        severity: 'error',
        path: '',
        ...positionOf(body, bad),
        message: `byte 0x${body[bad]!.toString(16).padStart(2, '0').toUpperCase()} at offset ${bad + start} is not valid UTF-8`,
        hint: 'save the file as UTF-8; a character here was written in another encoding (Latin-1, Windows-1252?)',
      },
    };
  }
  const nul = body.indexOf(0);
  if (nul !== -1) {
    return {
      finding: {
        rule: 'encoding',
        severity: 'error',
        path: '',
        ...positionOf(body, nul),
        message: `the file is not text: it holds a NUL byte at offset ${nul + start}`,
        hint: 'is this the right file? A plan is a YAML text file',
      },
    };
  }
  return { text: new TextDecoder('utf-8').decode(body) };
}

/**
 * UTF-16 or UTF-32, by their byte order mark, or without one by the NUL bytes that plain
 * ASCII characters leave in them (a plan starts with ASCII keys).
 */
function wideEncoding(b: Uint8Array): { name: string; iconv: string } | undefined {
  const found = wideEncodingName(b);
  if (found === undefined) return undefined;
  const [family, order] = found.split(' ');
  return { name: found, iconv: `${family}${order === '(big-endian)' ? 'BE' : 'LE'}` };
}

function wideEncodingName(b: Uint8Array): string | undefined {
  if (b[0] === 0x00 && b[1] === 0x00 && b[2] === 0xfe && b[3] === 0xff) return 'UTF-32 (big-endian)';
  if (b[0] === 0xff && b[1] === 0xfe && b[2] === 0x00 && b[3] === 0x00) return 'UTF-32 (little-endian)';
  if (b[0] === 0xfe && b[1] === 0xff) return 'UTF-16 (big-endian)';
  if (b[0] === 0xff && b[1] === 0xfe) return 'UTF-16 (little-endian)';
  if (b.length < 4) return undefined;
  const n = Math.min(b.length - (b.length % 4), 64);
  const zeroAt = (offset: number, step: number) => {
    for (let i = offset; i < n; i += step) if (b[i] !== 0) return false;
    return true;
  };
  const nonZeroAt = (offset: number, step: number) => {
    for (let i = offset; i < n; i += step) if (b[i] === 0) return false;
    return true;
  };
  if (nonZeroAt(0, 4) && zeroAt(1, 4) && zeroAt(2, 4) && zeroAt(3, 4)) return 'UTF-32 (little-endian)';
  if (zeroAt(0, 4) && zeroAt(1, 4) && zeroAt(2, 4) && nonZeroAt(3, 4)) return 'UTF-32 (big-endian)';
  if (nonZeroAt(0, 2) && zeroAt(1, 2)) return 'UTF-16 (little-endian)';
  if (zeroAt(0, 2) && nonZeroAt(1, 2)) return 'UTF-16 (big-endian)';
  return undefined;
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
export function firstInvalidUtf8(b: Uint8Array): number | undefined {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) [length, min] = [2, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [length, min] = [3, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [length, min] = [4, 0x10000];
    else return i;
    let code = c & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) {
      const next = b[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
      code = (code << 6) | (next & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8 either.
    if (code < min || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return i;
    i += length;
  }
  return undefined;
}

/** Line and column (in characters) of a byte offset, counting from 1. */
function positionOf(b: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (b[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  const before = new TextDecoder('utf-8').decode(b.subarray(lineStart, offset));
  return { line, column: [...before].length + 1 };
}
