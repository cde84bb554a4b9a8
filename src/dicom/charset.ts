import { DicomParseError } from '../errors';
import { TextDecoder } from 'node:util';
/**
 * Decoding of DICOM text (SH, LO, ST, LT, UC, UT, PN) under Specific Character Set (0008,0005),
 * PS3.5 section 6.1 and Annex H-K: single-byte sets, UTF-8, GB18030/GBK, and ISO 2022 code
 * extensions with escape sequences (Japanese JIS X 0201/0208/0212, Korean KS X 1001, Chinese
 * GB 2312, and the ISO 8859 G1 sets), resetting to the initial state at each value, component and
 * line delimiter. dcmjs decodes only the first term and only at the top level (nested items and
 * multi-valued terms come out wrong or throw), so the engine decodes these values itself from the
 * file's bytes. Every decoded value is written back as UTF-8 (ISO_IR 192).
 */

const ESC = 0x1b;

type Decode = (bytes: Uint8Array) => string;

const decoders = new Map<string, TextDecoder>();
function whatwg(label: string): Decode {
  let d = decoders.get(label);
  if (!d) decoders.set(label, (d = new TextDecoder(label)));
  const decoder = d;
  return (bytes) => decoder.decode(bytes);
}
/** ISO 8859-1 proper (WHATWG's "latin1" label is windows-1252). */
const latin1: Decode = (bytes) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

/** G1 single-byte sets by their ISO-IR number. */
const SINGLE_BYTE: Readonly<Record<string, Decode>> = {
  '100': latin1,
  '101': whatwg('iso-8859-2'),
  '109': whatwg('iso-8859-3'),
  '110': whatwg('iso-8859-4'),
  '144': whatwg('iso-8859-5'),
  '127': whatwg('iso-8859-6'),
  '126': whatwg('iso-8859-7'),
  '138': whatwg('iso-8859-8'),
  '148': whatwg('iso-8859-9'),
  '203': whatwg('iso-8859-15'),
  '166': whatwg('windows-874'),
};
/** The final byte of "ESC - F" selecting each G1 single-byte set. */
const G1_ESCAPE: Readonly<Record<number, string>> = {
  0x41: '100',
  0x42: '101',
  0x43: '109',
  0x44: '110',
  0x4c: '144',
  0x47: '127',
  0x46: '126',
  0x48: '138',
  0x4d: '148',
  0x62: '203',
  0x54: '166',
};

type G0 = 'ascii' | 'roman' | 'jisx0208' | 'jisx0212';
type G1 = 'none' | 'katakana' | 'ksx1001' | 'gb2312' | { single: string };

interface State {
  g0: G0;
  g1: G1;
}

/** A parsed Specific Character Set: either one decoder for the whole value or ISO 2022 states. */
export type Charset = { kind: 'plain'; decode: Decode } | { kind: 'iso2022'; initial: State };

/** A Specific Character Set the engine cannot decode by: the file is unreadable as text. */
export class CharsetError extends DicomParseError {
  override readonly name = 'CharsetError';
  constructor(message: string) {
    super(message, 'DICOM_CHARSET');
  }
}

function term(t: string): string {
  return t.trim().toUpperCase().replace(/_/g, ' ');
}

function initialFor(first: string): State {
  const t = term(first);
  if (t === '' || t === 'ISO 2022 IR 6') return { g0: 'ascii', g1: 'none' };
  if (t === 'ISO 2022 IR 13') return { g0: 'roman', g1: 'katakana' };
  if (t === 'ISO 2022 IR 149') return { g0: 'ascii', g1: 'ksx1001' };
  if (t === 'ISO 2022 IR 58') return { g0: 'ascii', g1: 'gb2312' };
  if (t === 'ISO 2022 IR 87') return { g0: 'jisx0208', g1: 'none' };
  if (t === 'ISO 2022 IR 159') return { g0: 'jisx0212', g1: 'none' };
  const m = /^ISO (?:2022 )?IR (\d+)$/.exec(t);
  if (m && SINGLE_BYTE[m[1]!]) return { g0: 'ascii', g1: { single: m[1]! } };
  throw new CharsetError('a SpecificCharacterSet term is not one DICOM defines');
}

/** Parses the terms of (0008,0005). Throws CharsetError for a term DICOM does not define. */
export function parseCharset(terms: readonly string[]): Charset {
  const list = terms.length === 0 ? [''] : terms;
  if (list.length === 1 || list.every((t) => !term(t).startsWith('ISO 2022'))) {
    const t = term(list[0]!);
    if (t === '' || t === 'ISO IR 6') return { kind: 'plain', decode: latin1 };
    if (t === 'ISO IR 192') return { kind: 'plain', decode: whatwg('utf-8') };
    if (t === 'GB18030') return { kind: 'plain', decode: whatwg('gb18030') };
    if (t === 'GBK') return { kind: 'plain', decode: whatwg('gbk') };
    if (t === 'ISO IR 13') return { kind: 'iso2022', initial: { g0: 'roman', g1: 'katakana' } };
    const m = /^ISO IR (\d+)$/.exec(t);
    if (m && SINGLE_BYTE[m[1]!]) return { kind: 'plain', decode: SINGLE_BYTE[m[1]!]! };
    if (!t.startsWith('ISO 2022'))
      throw new CharsetError('the SpecificCharacterSet term is not one DICOM defines');
  }
  for (const t of list.slice(1)) initialFor(t); // every term must be known, even if only escaped to
  return { kind: 'iso2022', initial: initialFor(list[0]!) };
}

const eucJp = whatwg('euc-jp');
const eucKr = whatwg('euc-kr');
const gb = whatwg('gb18030');

function isDelimiter(b: number, pn: boolean): boolean {
  return (
    b === 0x5c || b === 0x0d || b === 0x0a || b === 0x0c || b === 0x09 || (pn && (b === 0x5e || b === 0x3d))
  );
}

/** Decodes one element's value bytes (all its values, delimiters included). */
export function decodeText(bytes: Uint8Array, charset: Charset, pn: boolean): string {
  let plain = true;
  for (const b of bytes) {
    if (b >= 0x80 || b === ESC) {
      plain = false;
      break;
    }
  }
  if (plain) return latin1(bytes);
  if (charset.kind === 'plain') return charset.decode(bytes);
  return decode2022(bytes, charset.initial, pn);
}

function decode2022(bytes: Uint8Array, initial: State, pn: boolean): string {
  let state: State = { ...initial };
  let out = '';
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i]!;
    if (b === ESC) {
      i = escape(bytes, i, (s) => (state = { ...state, ...s }));
      continue;
    }
    if (b < 0x80) {
      if ((state.g0 === 'jisx0208' || state.g0 === 'jisx0212') && b >= 0x21 && b <= 0x7e && i + 1 < n) {
        const b2 = bytes[i + 1]!;
        out +=
          state.g0 === 'jisx0208'
            ? eucJp(Uint8Array.of(b | 0x80, b2 | 0x80))
            : eucJp(Uint8Array.of(0x8f, b | 0x80, b2 | 0x80));
        i += 2;
        continue;
      }
      if (state.g0 === 'roman' && b === 0x5c) out += '\u00a5';
      else if (state.g0 === 'roman' && b === 0x7e) out += '\u203e';
      else out += String.fromCharCode(b);
      if (isDelimiter(b, pn)) state = { ...initial };
      i++;
      continue;
    }
    const g1 = state.g1;
    if (g1 === 'katakana') {
      out += eucJp(Uint8Array.of(0x8e, b));
      i++;
    } else if ((g1 === 'ksx1001' || g1 === 'gb2312') && i + 1 < n) {
      out += (g1 === 'ksx1001' ? eucKr : gb)(bytes.subarray(i, i + 2));
      i += 2;
    } else if (typeof g1 === 'object') {
      out += SINGLE_BYTE[g1.single]!(bytes.subarray(i, i + 1));
      i++;
    } else {
      out += latin1(bytes.subarray(i, i + 1)); // a high byte with no G1 set: kept as Latin-1
      i++;
    }
  }
  return out;
}

/** Applies the escape sequence at `at`; returns the offset after it (an unknown one is skipped as ESC alone). */
function escape(bytes: Uint8Array, at: number, set: (s: Partial<State>) => void): number {
  const a = bytes[at + 1];
  const b = bytes[at + 2];
  const c = bytes[at + 3];
  if (a === 0x28 && b === 0x42) return (set({ g0: 'ascii' }), at + 3); // ESC ( B
  if (a === 0x28 && b === 0x4a) return (set({ g0: 'roman' }), at + 3); // ESC ( J
  if (a === 0x29 && b === 0x49) return (set({ g1: 'katakana' }), at + 3); // ESC ) I
  if (a === 0x24 && b === 0x42) return (set({ g0: 'jisx0208' }), at + 3); // ESC $ B
  if (a === 0x24 && b === 0x28 && c === 0x44) return (set({ g0: 'jisx0212' }), at + 4); // ESC $ ( D
  if (a === 0x24 && b === 0x29 && c === 0x43) return (set({ g1: 'ksx1001' }), at + 4); // ESC $ ) C
  if (a === 0x24 && b === 0x29 && c === 0x41) return (set({ g1: 'gb2312' }), at + 4); // ESC $ ) A
  if (a === 0x2d && b !== undefined && G1_ESCAPE[b]) return (set({ g1: { single: G1_ESCAPE[b]! } }), at + 3); // ESC - F
  return at + 1;
}
