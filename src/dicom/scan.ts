/**
 * Finds the top-level Pixel Data element of a Part 10 file without parsing values, so the
 * engine can de-identify the header and pass the pixel data through byte for byte (no re-encoding,
 * no copy). Returns undefined whenever the layout is not one it can walk with certainty (deflated
 * syntax, no preamble, inconsistent lengths): callers then take the full parse path.
 */

import { DEFLATED_DATASET_SYNTAXES, TRANSFER_SYNTAX } from './syntaxes';
import { ITEM, ITEM_DELIMITATION_ITEM, SEQUENCE_DELIMITATION_ITEM, TAG, tagNumber } from './tags';
import { readElementHeader, UNDEFINED_LENGTH } from './elements';

export interface PixelDataLocation {
  /** Offset of the element's tag. */
  readonly start: number;
  /** Offset just after the element (after the sequence delimiter when encapsulated). */
  readonly end: number;
}

const IMPLICIT_LE = TRANSFER_SYNTAX.ImplicitVRLittleEndian;
const EXPLICIT_BE = TRANSFER_SYNTAX.ExplicitVRBigEndian;
const PIXEL_DATA = tagNumber(TAG.PixelData);
const TRANSFER_SYNTAX_UID = tagNumber(TAG.TransferSyntaxUID);
const MAX_DEPTH = 64;

class Reader {
  constructor(
    readonly b: Buffer,
    readonly littleEndian: boolean,
    readonly implicit: boolean,
  ) {}
  u16(at: number): number {
    return this.littleEndian ? this.b.readUInt16LE(at) : this.b.readUInt16BE(at);
  }
  u32(at: number): number {
    return this.littleEndian ? this.b.readUInt32LE(at) : this.b.readUInt32BE(at);
  }
}

interface Header {
  tag: number; // group << 16 | element
  valueStart: number;
  length: number;
}

function header(r: Reader, at: number): Header | undefined {
  const h = readElementHeader(r.b, at, r);
  return typeof h === 'string' ? undefined : h;
}

/** Skips the items of an undefined-length sequence (or encapsulated pixel data); returns the offset after its delimiter. */
function skipItems(r: Reader, at: number, depth: number): number | undefined {
  if (depth > MAX_DEPTH) return undefined;
  let pos = at;
  for (;;) {
    const h = header(r, pos);
    if (!h) return undefined;
    if (h.tag === SEQUENCE_DELIMITATION_ITEM) return h.valueStart;
    if (h.tag !== ITEM) return undefined;
    if (h.length !== UNDEFINED_LENGTH) {
      pos = h.valueStart + h.length;
      if (pos > r.b.length) return undefined;
      continue;
    }
    const next = skipElements(r, h.valueStart, ITEM_DELIMITATION_ITEM, depth + 1);
    if (next === undefined) return undefined;
    pos = next;
  }
}

/** Walks elements until `until` (an item delimiter); returns the offset after it. */
function skipElements(r: Reader, at: number, until: number, depth: number): number | undefined {
  let pos = at;
  for (;;) {
    const h = header(r, pos);
    if (!h) return undefined;
    if (h.tag === until) return h.valueStart;
    if (h.length === UNDEFINED_LENGTH) {
      const next = skipItems(r, h.valueStart, depth + 1);
      if (next === undefined) return undefined;
      pos = next;
    } else {
      pos = h.valueStart + h.length;
      if (pos > r.b.length) return undefined;
    }
  }
}

/**
 * The values of the wanted top-level elements of a dataset that starts at `from`, read without
 * parsing anything else; stops at the first element past the largest wanted tag. Undefined when
 * the layout cannot be walked.
 */
export function readTopLevel(
  bytes: Buffer,
  from: number,
  layout: { readonly littleEndian: boolean; readonly implicit: boolean },
  wanted: readonly number[],
): Map<number, Buffer> | undefined {
  const r = new Reader(bytes, layout.littleEndian, layout.implicit);
  const last = Math.max(...wanted);
  const out = new Map<number, Buffer>();
  let pos = from;
  while (pos < bytes.length) {
    const h = header(r, pos);
    if (!h) return undefined;
    if (h.tag > last) break;
    if (h.length === UNDEFINED_LENGTH) {
      const next = skipItems(r, h.valueStart, 0);
      if (next === undefined) return undefined;
      pos = next;
      continue;
    }
    if (h.valueStart + h.length > bytes.length) return undefined;
    if (wanted.includes(h.tag)) out.set(h.tag, bytes.subarray(h.valueStart, h.valueStart + h.length));
    pos = h.valueStart + h.length;
  }
  return out;
}

/** Where a Part 10 file's dataset starts (after the file meta), and a reader for its syntax; not for deflated datasets. */
function datasetStart(bytes: Buffer): { pos: number; r: Reader } | undefined {
  if (bytes.length < 132 || bytes.toString('latin1', 128, 132) !== 'DICM') return undefined;
  // File meta: always explicit VR little endian.
  const meta = new Reader(bytes, true, false);
  let pos = 132;
  let syntax: string | undefined;
  for (;;) {
    if (pos + 8 > bytes.length) return undefined;
    if (meta.u16(pos) !== 0x0002) break;
    const h = header(meta, pos);
    if (!h || h.length === UNDEFINED_LENGTH || h.valueStart + h.length > bytes.length) return undefined;
    if (h.tag === TRANSFER_SYNTAX_UID)
      syntax = bytes.toString('latin1', h.valueStart, h.valueStart + h.length).replace(/[\0 ]+$/, '');
    pos = h.valueStart + h.length;
  }
  if (!syntax || DEFLATED_DATASET_SYNTAXES.has(syntax)) return undefined;
  return { pos, r: new Reader(bytes, syntax !== EXPLICIT_BE, syntax === IMPLICIT_LE) };
}

/** Where the top-level element at `pos` ends (its items skipped), or undefined when it cannot be read. */
function elementEnd(r: Reader, h: Header): number | undefined {
  const end = h.length === UNDEFINED_LENGTH ? skipItems(r, h.valueStart, 0) : h.valueStart + h.length;
  return end !== undefined && end <= r.b.length ? end : undefined;
}

export function locatePixelData(bytes: Buffer): PixelDataLocation | undefined {
  const start = datasetStart(bytes);
  if (!start) return undefined;
  const { r } = start;
  let pos = start.pos;
  while (pos < bytes.length) {
    const h = header(r, pos);
    if (!h) return undefined;
    if (h.tag > PIXEL_DATA) return undefined; // no pixel data at the top level
    const end = elementEnd(r, h);
    if (h.tag === PIXEL_DATA) return end !== undefined ? { start: pos, end } : undefined;
    if (end === undefined) return undefined;
    pos = end;
  }
  return undefined;
}

/**
 * How many zero bytes follow the dataset's last complete top-level element: 0 when the elements end
 * with the file, or when the bytes after them are anything but zeros (the parse then fails as it
 * should). Some writers pad a file with zeros after Pixel Data (megabytes of them, seen on a real MR
 * image that Orthanc and pydicom read and dcmtk warns about).
 */
export function trailingZeroPadding(bytes: Buffer): number {
  const start = datasetStart(bytes);
  if (!start) return 0;
  const { r } = start;
  let pos = start.pos;
  while (pos < bytes.length) {
    if (bytes[pos] === 0 && bytes.subarray(pos).every((b) => b === 0)) return bytes.length - pos;
    const h = header(r, pos);
    const end = h && elementEnd(r, h);
    if (end === undefined || end <= pos) return 0;
    pos = end;
  }
  return 0;
}
