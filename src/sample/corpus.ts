/**
 * A corpus of real-world-shaped DICOM files for the engine's tests and benchmark: every
 * character set DICOM defines (including ISO 2022 multi-byte Japanese, Korean, Chinese), every
 * uncompressed transfer syntax plus deflate and encapsulated ones (JPEG family, JPEG 2000,
 * JPEG-LS, RLE), nested private sequences and odd VRs. Files are assembled byte by byte here,
 * because dcmjs writes only UTF-8 text. All values are synthetic.
 */
import { deflateRawSync } from 'node:zlib';
import { TextDecoder } from 'node:util';
import { LONG_VRS } from '../deid/vr';

type Bytes = Buffer;
interface El {
  tag: number;
  vr: string;
  value: Bytes | El[][];
}

export const TRANSFER_SYNTAXES = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  explicitBE: '1.2.840.10008.1.2.2',
  deflated: '1.2.840.10008.1.2.1.99',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegLossless: '1.2.840.10008.1.2.4.70',
  jpegLs: '1.2.840.10008.1.2.4.80',
  jpeg2000: '1.2.840.10008.1.2.4.90',
  rle: '1.2.840.10008.1.2.5',
} as const;
export type SyntaxName = keyof typeof TRANSFER_SYNTAXES;
const ENCAPSULATED = new Set<SyntaxName>(['jpegBaseline', 'jpegLossless', 'jpegLs', 'jpeg2000', 'rle']);

// --- text encoders (reverse tables built from the platform's decoders) ---

const tables = new Map<string, Map<string, number[]>>();
function reverse(label: string, lead: [number, number], trail: [number, number], prefix: number[] = []) {
  const key = `${label}:${prefix.join(',')}:${lead[0]}`;
  let map = tables.get(key);
  if (map) return map;
  map = new Map();
  const dec = new TextDecoder(label);
  for (let a = lead[0]; a <= lead[1]; a++)
    for (let b = trail[0]; b <= trail[1]; b++) {
      const ch = dec.decode(Uint8Array.from([...prefix, a, b]));
      if (ch.length === 1 && ch !== '\ufffd' && !map.has(ch)) map.set(ch, [a, b]);
    }
  tables.set(key, map);
  return map;
}

function single(label: string): Map<string, number> {
  const dec = new TextDecoder(label);
  const map = new Map<string, number>();
  for (let b = 0xa0; b <= 0xff; b++) {
    const ch = dec.decode(Uint8Array.of(b));
    if (ch !== '\ufffd') map.set(ch, b);
  }
  return map;
}

const ESC = 0x1b;
/** Encodes text in an ISO 2022 G0 two-byte set (JIS X 0208) with the escapes PS3.5 Annex H uses. */
function jis(text: string): number[] {
  const table = reverse('euc-jp', [0xa1, 0xfe], [0xa1, 0xfe]);
  const out: number[] = [];
  let kanji = false;
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (code < 0x80) {
      if (kanji) out.push(ESC, 0x28, 0x42); // ESC ( B
      kanji = false;
      out.push(code);
      continue;
    }
    const pair = table.get(ch);
    if (!pair) throw new Error(`no JIS X 0208 code for U+${code.toString(16)}`);
    if (!kanji) out.push(ESC, 0x24, 0x42); // ESC $ B
    kanji = true;
    out.push(pair[0]! & 0x7f, pair[1]! & 0x7f);
  }
  if (kanji) out.push(ESC, 0x28, 0x42);
  return out;
}

/** Encodes text with a G1 two-byte set (KS X 1001 or GB 2312), designated once per value. */
function g1TwoByte(text: string, label: 'euc-kr' | 'gb18030', designate: number[]): number[] {
  const table = reverse(label, [0xa1, 0xfe], [0xa1, 0xfe]);
  const out: number[] = [];
  let designated = false;
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (code < 0x80) {
      out.push(code);
      if (code === 0x5e || code === 0x3d || code === 0x5c) designated = false; // delimiters reset G1
      continue;
    }
    const pair = table.get(ch);
    if (!pair) throw new Error(`no ${label} code for U+${code.toString(16)}`);
    if (!designated) out.push(...designate);
    designated = true;
    out.push(pair[0]!, pair[1]!);
  }
  return out;
}

export interface CharsetCase {
  /** A label for test names. */
  readonly name: string;
  readonly terms: readonly string[];
  /** A synthetic patient name (with ideographic and phonetic groups where the set has them). */
  readonly patientName: string;
  /** A kept descriptor in the set's script: it must come out as the same Unicode text. */
  readonly manufacturer: string;
  encode(text: string): Buffer;
}

function singleByteCase(
  name: string,
  term: string,
  label: string,
  patientName: string,
  manufacturer: string,
): CharsetCase {
  const table = single(label);
  return {
    name,
    terms: [term],
    patientName,
    manufacturer,
    encode: (text) =>
      Buffer.from(
        [...text].map((ch) => {
          const c = ch.charCodeAt(0);
          if (c < 0x80) return c;
          const b = table.get(ch);
          if (b === undefined) throw new Error(`${name}: no byte for U+${c.toString(16)}`);
          return b;
        }),
      ),
  };
}

export const CHARSET_CASES: readonly CharsetCase[] = [
  {
    name: 'default repertoire',
    terms: [],
    patientName: 'Probe^Ascii',
    manufacturer: 'ACME Imaging',
    encode: (t) => Buffer.from(t, 'latin1'),
  },
  singleByteCase('Latin-1 (ISO_IR 100)', 'ISO_IR 100', 'iso-8859-1', 'Müllerstraße^Zoë', 'Ñandú Médica'),
  singleByteCase('Latin-2 (ISO_IR 101)', 'ISO_IR 101', 'iso-8859-2', 'Dvořáková^Žaneta', 'Łódź Sprzęt'),
  singleByteCase('Cyrillic (ISO_IR 144)', 'ISO_IR 144', 'iso-8859-5', 'Синтетов^Иван', 'Медтехника'),
  singleByteCase('Arabic (ISO_IR 127)', 'ISO_IR 127', 'iso-8859-6', 'قباني^لنزار', 'أجهزة طبية'),
  singleByteCase('Greek (ISO_IR 126)', 'ISO_IR 126', 'iso-8859-7', 'Διονυσιος^Συνθ', 'Ιατρικά'),
  singleByteCase('Hebrew (ISO_IR 138)', 'ISO_IR 138', 'iso-8859-8', 'שרון^דבורה', 'ציוד רפואי'),
  singleByteCase('Latin-5 (ISO_IR 148)', 'ISO_IR 148', 'iso-8859-9', 'Şentürk^Ağız', 'Tıbbi Cihaz'),
  singleByteCase('Thai (ISO_IR 166)', 'ISO_IR 166', 'windows-874', 'สมชาย^ใจดี', 'เครื่องมือแพทย์'),
  {
    name: 'UTF-8 (ISO_IR 192)',
    terms: ['ISO_IR 192'],
    patientName: 'Wang^XiaoDong=王^小東=',
    manufacturer: 'Ünïcødé 医療 🩻',
    encode: (t) => Buffer.from(t, 'utf8'),
  },
  {
    name: 'GB18030',
    terms: ['GB18030'],
    patientName: 'Wang^XiaoDong=王^小东=',
    manufacturer: '医疗设备公司',
    encode: (t) => gb18030(t),
  },
  {
    name: 'Japanese (ISO 2022 IR 87)',
    terms: ['', 'ISO 2022 IR 87'],
    patientName: 'Yamada^Tarou=山田^太郎=やまだ^たろう',
    manufacturer: '山田医療機器',
    encode: (t) => Buffer.from(jis(t)),
  },
  {
    name: 'Korean (ISO 2022 IR 149)',
    terms: ['', 'ISO 2022 IR 149'],
    patientName: 'Hong^Gildong=洪^吉洞=홍^길동',
    manufacturer: '의료기기',
    encode: (t) => Buffer.from(g1TwoByte(t, 'euc-kr', [ESC, 0x24, 0x29, 0x43])),
  },
  {
    name: 'Chinese (ISO 2022 IR 58)',
    terms: ['', 'ISO 2022 IR 58'],
    patientName: 'Zhang^SanFeng=张^三丰=',
    manufacturer: '医疗设备',
    encode: (t) => Buffer.from(g1TwoByte(t, 'gb18030', [ESC, 0x24, 0x29, 0x41])),
  },
];

function gb18030(text: string): Buffer {
  const table = reverse('gb18030', [0x81, 0xfe], [0x40, 0xfe]);
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (c < 0x80) out.push(c);
    else {
      const pair = table.get(ch);
      if (!pair) throw new Error(`no GB18030 two-byte code for U+${c.toString(16)}`);
      out.push(...pair);
    }
  }
  return Buffer.from(out);
}

// --- element assembly ---

function pad(b: Buffer, vr: string): Buffer {
  if (b.length % 2 === 0) return b;
  return Buffer.concat([b, Buffer.from([vr === 'UI' || vr === 'OB' || vr === 'UN' ? 0 : 0x20])]);
}

const ascii = (tag: number, vr: string, text: string): El => ({
  tag,
  vr,
  value: pad(Buffer.from(text, 'latin1'), vr),
});
const raw = (tag: number, vr: string, bytes: Buffer): El => ({ tag, vr, value: pad(bytes, vr) });

interface Layout {
  implicit: boolean;
  little: boolean;
}

function u16(v: number, l: Layout): Buffer {
  const b = Buffer.alloc(2);
  if (l.little) b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return b;
}
function u32(v: number, l: Layout): Buffer {
  const b = Buffer.alloc(4);
  if (l.little) b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
}

function encodeElements(els: El[], l: Layout): Buffer {
  const parts: Buffer[] = [];
  for (const el of [...els].sort((a, b) => a.tag - b.tag)) {
    const head = Buffer.concat([u16(el.tag >>> 16, l), u16(el.tag & 0xffff, l)]);
    let value: Buffer;
    let undefinedLength = false;
    if (Array.isArray(el.value)) {
      // Sequences with undefined length and items of defined length, as many writers do.
      const items = el.value.map((item) => {
        const body = encodeElements(item, l);
        return Buffer.concat([u16(0xfffe, l), u16(0xe000, l), u32(body.length, l), body]);
      });
      value = Buffer.concat([...items, u16(0xfffe, l), u16(0xe0dd, l), u32(0, l)]);
      undefinedLength = true;
    } else value = el.value;
    const length = undefinedLength ? 0xffffffff : value.length;
    if (l.implicit) parts.push(head, u32(length, l), value);
    else if (LONG_VRS.has(el.vr))
      parts.push(head, Buffer.from(el.vr, 'latin1'), Buffer.alloc(2), u32(length, l), value);
    else parts.push(head, Buffer.from(el.vr, 'latin1'), u16(length, l), value);
  }
  return Buffer.concat(parts);
}

function encapsulated(frames: Buffer[], l: Layout): Buffer {
  const items = [Buffer.alloc(0), ...frames].map((f) =>
    Buffer.concat([u16(0xfffe, l), u16(0xe000, l), u32(f.length, l), f]),
  );
  return Buffer.concat([...items, u16(0xfffe, l), u16(0xe0dd, l), u32(0, l)]);
}

export interface CorpusFile {
  readonly name: string;
  readonly syntax: SyntaxName;
  readonly charset: CharsetCase;
  readonly bytes: Buffer;
  /** The exact bytes of the Pixel Data element's value (fragments included when encapsulated). */
  readonly pixelValue: Buffer;
  /** Synthetic identifying values placed in the file (to search the output for). */
  readonly planted: readonly string[];
}

let counter = 0;
function uid(kind: number, n: number): string {
  return `1.2.826.0.1.3680043.10.543.${kind}.${n}`;
}

/** One file: a CT-like image with the charset's texts, nested private sequences and odd VRs. */
export function corpusFile(charset: CharsetCase, syntax: SyntaxName, index = counter++): CorpusFile {
  const ts = TRANSFER_SYNTAXES[syntax];
  const l: Layout = { implicit: syntax === 'implicitLE', little: syntax !== 'explicitBE' };
  const rows = 8;
  const cols = 8;
  const pixels = Buffer.alloc(rows * cols * 2);
  for (let i = 0; i < rows * cols; i++) {
    if (l.little) pixels.writeUInt16LE((i * 37 + index) & 0xfff, i * 2);
    else pixels.writeUInt16BE((i * 37 + index) & 0xfff, i * 2);
  }
  const frame = Buffer.from(`\xff\xd8synthetic-frame-${syntax}-${index}\xff\xd9`, 'latin1');
  const pixelValue = ENCAPSULATED.has(syntax) ? encapsulated([pad(frame, 'OB')], l) : pixels;
  const sop = uid(3, index);
  const id = `SYN${String(index).padStart(6, '0')}`;
  const accession = `ACC${String(index).padStart(7, '0')}`;
  const text = (tag: number, vr: string, value: string) => raw(tag, vr, charset.encode(value));
  const privateSq: El[][] = [
    [
      ascii(0x00110010, 'LO', 'SYNTH PRIVATE'),
      text(0x00111001, 'LO', `${charset.patientName.split('=')[0]} private copy`),
      {
        tag: 0x00111002,
        vr: 'SQ',
        value: [[ascii(0x00110010, 'LO', 'SYNTH PRIVATE'), ascii(0x00111003, 'LO', id)]],
      },
    ],
  ];
  const f32 = Buffer.alloc(8);
  if (l.little) {
    f32.writeFloatLE(1.5, 0);
    f32.writeFloatLE(-2.25, 4);
  } else {
    f32.writeFloatBE(1.5, 0);
    f32.writeFloatBE(-2.25, 4);
  }
  const els: El[] = [
    ascii(0x00080016, 'UI', '1.2.840.10008.5.1.4.1.1.2'),
    ascii(0x00080018, 'UI', sop),
    ascii(0x00080020, 'DA', '20230507'),
    ascii(0x00080030, 'TM', '101112.123'),
    ascii(0x00080050, 'SH', accession),
    ascii(0x00080060, 'CS', 'CT'),
    text(0x00080070, 'LO', charset.manufacturer),
    text(0x00080080, 'LO', `${charset.manufacturer} Hospital`),
    text(0x00080090, 'PN', charset.patientName),
    {
      tag: 0x00082218,
      vr: 'SQ',
      value: [
        [
          ascii(0x00080100, 'SH', 'T-D3000'),
          ascii(0x00080102, 'SH', 'SRT'),
          text(0x00080104, 'LO', charset.manufacturer),
        ],
      ],
    },
    text(0x00100010, 'PN', charset.patientName),
    ascii(0x00100020, 'LO', id),
    ascii(0x00100030, 'DA', '19700101'),
    ascii(0x00100040, 'CS', 'O'),
    text(0x00104000, 'LT', `Comment for ${charset.patientName.split('=')[0]}`),
    { tag: 0x00110010, vr: 'LO', value: pad(Buffer.from('SYNTH PRIVATE', 'latin1'), 'LO') },
    { tag: 0x00111010, vr: 'SQ', value: privateSq },
    raw(0x00111011, 'UN', Buffer.from(`${id} in UN`, 'latin1')),
    raw(0x00181020, 'LO', Buffer.from('SYN 1.0\\SYN 2.0', 'latin1')), // multi-valued software versions
    raw(
      0x00189219,
      'FD',
      (() => {
        const b = Buffer.alloc(8);
        if (l.little) b.writeDoubleLE(0.5);
        else b.writeDoubleBE(0.5);
        return b;
      })(),
    ),
    ascii(0x0020000d, 'UI', uid(1, index)),
    ascii(0x0020000e, 'UI', uid(2, index)),
    ascii(0x00200013, 'IS', String(index + 1)),
    ascii(0x00200020, 'CS', 'L\\P'),
    raw(0x00280002, 'US', u16(1, l)),
    ascii(0x00280004, 'CS', 'MONOCHROME2'),
    raw(0x00280010, 'US', u16(rows, l)),
    raw(0x00280011, 'US', u16(cols, l)),
    raw(0x00280100, 'US', u16(16, l)),
    raw(0x00280101, 'US', u16(12, l)),
    raw(0x00280102, 'US', u16(11, l)),
    raw(0x00280103, 'US', u16(0, l)),
    raw(0x00287fe0, 'UR', Buffer.from('http://example.org/synthetic', 'latin1')),
    raw(0x00660016, 'OF', f32), // odd VR: OF
    ascii(0x00400244, 'DA', '20230507'),
    { tag: 0x7fe00010, vr: ENCAPSULATED.has(syntax) ? 'OB' : 'OW', value: Buffer.alloc(0) },
  ];
  if (charset.terms.length > 0) els.push(ascii(0x00080005, 'CS', charset.terms.join('\\')));
  const body = encodeElements(
    els.filter((e) => e.tag !== 0x7fe00010),
    l,
  );
  const pixelHead = Buffer.concat([
    u16(0x7fe0, l),
    u16(0x0010, l),
    ...(l.implicit
      ? [u32(ENCAPSULATED.has(syntax) ? 0xffffffff : pixelValue.length, l)]
      : [
          Buffer.from(ENCAPSULATED.has(syntax) ? 'OB' : 'OW', 'latin1'),
          Buffer.alloc(2),
          u32(ENCAPSULATED.has(syntax) ? 0xffffffff : pixelValue.length, l),
        ]),
  ]);
  const dataset = Buffer.concat([body, pixelHead, pixelValue]);
  const metaLE: Layout = { implicit: false, little: true };
  const meta = encodeElements(
    [
      raw(0x00020001, 'OB', Buffer.from([0, 1])),
      ascii(0x00020002, 'UI', '1.2.840.10008.5.1.4.1.1.2'),
      ascii(0x00020003, 'UI', sop),
      ascii(0x00020010, 'UI', ts),
      ascii(0x00020012, 'UI', '1.2.826.0.1.3680043.10.543.9'),
    ],
    metaLE,
  );
  const groupLength = encodeElements([raw(0x00020000, 'UL', u32(meta.length, metaLE))], metaLE);
  const bytes = Buffer.concat([
    Buffer.alloc(128),
    Buffer.from('DICM', 'latin1'),
    groupLength,
    meta,
    syntax === 'deflated' ? deflateRawSync(dataset) : dataset,
  ]);
  const [alphabetic = ''] = charset.patientName.split('=');
  return {
    name: `${charset.name} / ${syntax}`,
    syntax,
    charset,
    bytes,
    pixelValue,
    planted: [id, accession, alphabetic, ...alphabetic.split('^')].filter((v) => v.length >= 4),
  };
}

/** Every charset in explicit little endian, and every syntax with the Japanese and Latin-1 sets. */
export function corpus(): CorpusFile[] {
  const out: CorpusFile[] = [];
  let i = 0;
  for (const c of CHARSET_CASES) out.push(corpusFile(c, 'explicitLE', i++));
  const spread = CHARSET_CASES.filter((c) => /Japanese|Latin-1|Korean/.test(c.name));
  for (const syntax of Object.keys(TRANSFER_SYNTAXES) as SyntaxName[]) {
    if (syntax === 'explicitLE') continue;
    for (const c of spread) out.push(corpusFile(c, syntax, i++));
  }
  return out;
}
