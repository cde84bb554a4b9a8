import { TRANSFER_SYNTAX } from './syntaxes';
import type { Dataset, DicomElement } from './dataset';
import { ITEM_GROUP, UNDEFINED_LENGTH, writeElementHeader } from './elements';
import { BINARY_VRS, ENCODED_VRS } from './vr';
import { TAG } from './tags';

/**
 * A Part 10 writer for the engine's output, byte-compatible with dcmjs's writer (the test
 * `writer.test.ts` compares the two on every corpus and table file) but without its per-element
 * stream objects, which made writing a small header cost more than reading it. It writes explicit
 * and implicit VR little endian; for big endian, and for a dataset that carries encapsulated
 * pixel data, it answers undefined and the caller uses dcmjs.
 */

const NUMBER_SIZE: Readonly<Record<string, number>> = {
  US: 2,
  SS: 2,
  UL: 4,
  SL: 4,
  FL: 4,
  FD: 8,
  SV: 8,
  UV: 8,
  AT: 4,
};
const IMPLICIT_LE = TRANSFER_SYNTAX.ImplicitVRLittleEndian;
const EXPLICIT_LE = TRANSFER_SYNTAX.ExplicitVRLittleEndian;
const EXPLICIT_BE = TRANSFER_SYNTAX.ExplicitVRBigEndian;
/** Little endian syntaxes with native pixel data: what this writer writes. */
const NATIVE = new Set<string>([IMPLICIT_LE, EXPLICIT_LE, TRANSFER_SYNTAX.DeflatedExplicitVRLittleEndian]);

/** Growable output buffer. */
class Out {
  buf = Buffer.allocUnsafe(8192);
  len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** An element or item header (dicom/elements.ts). */
  header(group: number, element: number, vr: string, length: number, implicit: boolean): void {
    this.ensure(12);
    this.len = writeElementHeader(this.buf, this.len, group, element, vr, length, implicit);
  }
  ascii(s: string): void {
    this.ensure(s.length);
    this.len += this.buf.write(s, this.len, 'latin1');
  }
}

/** DS as dcmjs formats a number: at most 16 characters, scientific notation for very large or small values. */
function decimalString(value: number): string {
  const s = String(value);
  if (s.length <= 16) return s;
  const sign = value < 0 ? 1 : 0;
  const log = Math.log10(Math.abs(value));
  if (log < -4 || log >= 14 - sign) {
    const e = value.toExponential(16 - sign);
    return e.length <= 16 ? e : value.toExponential(16 - (e.length - 16) - sign);
  }
  const f = value.toFixed(16 - sign);
  return f.length <= 16 ? f : value.toFixed(16 - sign - (f.length - 16));
}

function personName(v: unknown): string {
  if (typeof v === 'string') return v;
  if (!v || typeof v !== 'object') return '';
  const p = v as { Alphabetic?: string; Ideographic?: string; Phonetic?: string };
  return [p.Alphabetic ?? '', p.Ideographic ?? '', p.Phonetic ?? ''].join('=').replace(/=+$/, '');
}

function textValue(vr: string, values: readonly unknown[]): string {
  return values
    .map((v) => {
      if (v === null || v === undefined) return '';
      if (vr === 'PN') return personName(v);
      if (typeof v === 'number') return vr === 'DS' ? decimalString(v) : String(v);
      return String(v);
    })
    .join('\\');
}

/** The values written: the untouched original text when dcmjs kept it, else the values. */
function writeValues(el: DicomElement): readonly unknown[] {
  const raw = el._rawValue;
  if (raw !== undefined && raw !== null && raw !== '') return Array.isArray(raw) ? raw : [raw];
  return el.Value ?? [];
}

function valueBytes(vr: string, el: DicomElement): Buffer {
  if (BINARY_VRS.has(vr)) {
    const parts = (el.Value ?? []).map((v) =>
      v instanceof ArrayBuffer
        ? Buffer.from(v)
        : ArrayBuffer.isView(v)
          ? Buffer.from(v.buffer, v.byteOffset, v.byteLength)
          : Buffer.alloc(0),
    );
    const b = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    return b.length % 2 === 1 ? Buffer.concat([b, Buffer.from([0])]) : b;
  }
  const size = NUMBER_SIZE[vr];
  if (size) {
    const values = (el.Value ?? []).filter((v) => v !== null && v !== undefined);
    const b = Buffer.alloc(values.length * size);
    values.forEach((v, i) => {
      const at = i * size;
      if (vr === 'US') b.writeUInt16LE(Number(v), at);
      else if (vr === 'SS') b.writeInt16LE(Number(v), at);
      else if (vr === 'UL') b.writeUInt32LE(Number(v) >>> 0, at);
      else if (vr === 'SL') b.writeInt32LE(Number(v), at);
      else if (vr === 'FL') b.writeFloatLE(Number(v), at);
      else if (vr === 'FD') b.writeDoubleLE(Number(v), at);
      else if (vr === 'SV') b.writeBigInt64LE(BigInt(v as number | bigint), at);
      else if (vr === 'UV') b.writeBigUInt64LE(BigInt(v as number | bigint), at);
      else if (vr === 'AT') {
        const tag = typeof v === 'string' ? parseInt(v, 16) : Number(v);
        b.writeUInt16LE((tag >>> 16) & 0xffff, at);
        b.writeUInt16LE(tag & 0xffff, at + 2);
      }
    });
    return b;
  }
  const text = textValue(vr, writeValues(el));
  const b = Buffer.from(text, ENCODED_VRS.has(vr) ? 'utf8' : 'latin1');
  if (b.length % 2 === 0) return b;
  return Buffer.concat([b, Buffer.from([vr === 'UI' ? 0 : 0x20])]);
}

function writeDataset(out: Out, ds: Dataset, implicit: boolean): void {
  for (const tag of Object.keys(ds).sort()) {
    const el = ds[tag]!;
    const group = parseInt(tag.slice(0, 4), 16);
    const element = parseInt(tag.slice(4), 16);
    if (el.vr === 'SQ') {
      out.header(group, element, 'SQ', UNDEFINED_LENGTH, implicit);
      for (const item of el.Value ?? []) {
        out.header(ITEM_GROUP, 0xe000, '', UNDEFINED_LENGTH, implicit);
        writeDataset(out, item as Dataset, implicit);
        out.header(ITEM_GROUP, 0xe00d, '', 0, implicit);
      }
      out.header(ITEM_GROUP, 0xe0dd, '', 0, implicit);
      continue;
    }
    const value = valueBytes(el.vr, el);
    out.header(group, element, el.vr, value.length, implicit);
    out.bytes(value);
  }
}

/** The file's bytes, or undefined when this writer does not handle the syntax or content (see above). */
export function writePart10(meta: Dataset, dict: Dataset): Buffer | undefined {
  const syntax = String(meta[TAG.TransferSyntaxUID]?.Value?.[0] ?? EXPLICIT_LE);
  if (syntax === EXPLICIT_BE) return undefined;
  // Encapsulated pixel data (fragments, offset table) is left to dcmjs; a header alone is
  // explicit VR little endian whatever the compression syntax.
  if (!NATIVE.has(syntax) && dict[TAG.PixelData]) return undefined;
  const out = new Out();
  out.bytes(Buffer.alloc(128));
  out.ascii('DICM');
  // File meta: explicit VR little endian, with its group length first.
  const metaOut = new Out();
  const metaDs: Dataset = { ...meta };
  delete metaDs[TAG.FileMetaInformationGroupLength];
  if (!metaDs[TAG.TransferSyntaxUID]) metaDs[TAG.TransferSyntaxUID] = { vr: 'UI', Value: [EXPLICIT_LE] };
  writeDataset(metaOut, metaDs, false);
  out.header(0x0002, 0x0000, 'UL', 4, false); // File Meta Information Group Length
  out.u32(metaOut.len);
  out.bytes(metaOut.buf.subarray(0, metaOut.len));
  writeDataset(out, dict, syntax === IMPLICIT_LE);
  return out.buf.subarray(0, out.len);
}
