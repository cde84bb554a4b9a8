/**
 * Data element headers (PS3.5 7.1): the one place that reads and writes them. Tag (group,
 * element), then in explicit VR a two-letter VR and a 16-bit length, or for the long VRs two
 * reserved bytes and a 32-bit length; in implicit VR, and for items and delimiters (group FFFE)
 * in every syntax, a 32-bit length and no VR. Every walker of the bridge (the pixel-data scanner,
 * the text walk, the file meta reader, the encapsulated-frame splitter) reads headers here, and
 * the writers write them here.
 */
import { LONG_VRS } from './vr';

/** The length of an element or item that ends at its delimiter (PS3.5 7.1.1). */
export const UNDEFINED_LENGTH = 0xffffffff;
/** The group of items and delimiters (PS3.5 7.5), which carry no VR in any syntax. */
export const ITEM_GROUP = 0xfffe;

export interface ByteLayout {
  readonly littleEndian: boolean;
  readonly implicit: boolean;
}

export const EXPLICIT_LITTLE: ByteLayout = Object.freeze({ littleEndian: true, implicit: false });
export const IMPLICIT_LITTLE: ByteLayout = Object.freeze({ littleEndian: true, implicit: true });

export interface ElementHeader {
  readonly group: number;
  readonly element: number;
  /** group << 16 | element, unsigned. */
  readonly tag: number;
  /** The VR as written (explicit VR, not an item); undefined in implicit VR and for items. */
  readonly vr: string | undefined;
  /** The value's length, or UNDEFINED_LENGTH. */
  readonly length: number;
  /** Offset of the value's first byte. */
  readonly valueStart: number;
}

/** Why a header could not be read: the bytes end inside it, or no VR stands where one must. */
export type HeaderFault = 'truncated' | 'no VR';

/** The 16- and 32-bit readers of a layout. */
function readers(
  b: Uint8Array,
  littleEndian: boolean,
): { u16: (at: number) => number; u32: (at: number) => number } {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { u16: (at) => view.getUint16(at, littleEndian), u32: (at) => view.getUint32(at, littleEndian) };
}

/** The element header at `at`, or why there is none. Bounded by the buffer: never reads past it. */
export function readElementHeader(
  b: Uint8Array,
  at: number,
  layout: ByteLayout,
): ElementHeader | HeaderFault {
  if (at < 0 || at + 8 > b.length) return 'truncated';
  const { u16, u32 } = readers(b, layout.littleEndian);
  const group = u16(at);
  const element = u16(at + 2);
  const tag = ((group << 16) | element) >>> 0;
  if (group === ITEM_GROUP || layout.implicit)
    return { group, element, tag, vr: undefined, length: u32(at + 4), valueStart: at + 8 };
  const a = b[at + 4]!;
  const c = b[at + 5]!;
  if (a < 0x41 || a > 0x5a || c < 0x41 || c > 0x5a) return 'no VR';
  const vr = String.fromCharCode(a, c);
  if (!LONG_VRS.has(vr)) return { group, element, tag, vr, length: u16(at + 6), valueStart: at + 8 };
  if (at + 12 > b.length) return 'truncated';
  return { group, element, tag, vr, length: u32(at + 8), valueStart: at + 12 };
}

/** The size of the header `writeElementHeader` writes. */
export function headerSize(vr: string, length: number, implicit = false): number {
  return implicit || !(LONG_VRS.has(vr) || length > 0xffff) ? 8 : 12;
}

/**
 * Writes an element's header in little endian (explicit VR unless `implicit`) at `at` of `buf`,
 * which must hold headerSize(...) bytes there; returns the offset after it. A short VR whose value
 * exceeds 64 KiB is written as UN with a 32-bit length, as dcmjs does; items and delimiters
 * (group FFFE) take no VR.
 */
export function writeElementHeader(
  buf: Buffer,
  at: number,
  group: number,
  element: number,
  vr: string,
  length: number,
  implicit = false,
): number {
  buf.writeUInt16LE(group, at);
  buf.writeUInt16LE(element, at + 2);
  if (implicit || group === ITEM_GROUP) {
    buf.writeUInt32LE(length >>> 0, at + 4);
    return at + 8;
  }
  if (!LONG_VRS.has(vr) && length <= 0xffff) {
    buf.write(vr, at + 4, 2, 'latin1');
    buf.writeUInt16LE(length, at + 6);
    return at + 8;
  }
  buf.write(LONG_VRS.has(vr) ? vr : 'UN', at + 4, 2, 'latin1');
  buf.writeUInt16LE(0, at + 6);
  buf.writeUInt32LE(length >>> 0, at + 8);
  return at + 12;
}

/** An element's header as its own buffer (see writeElementHeader). */
export function elementHeader(
  group: number,
  element: number,
  vr: string,
  length: number,
  implicit = false,
): Buffer {
  const head = Buffer.allocUnsafe(group === ITEM_GROUP ? 8 : headerSize(vr, length, implicit));
  writeElementHeader(head, 0, group, element, vr, length, implicit);
  return head;
}

/**
 * Where the file meta information ends, read from its group length (0002,0000), the element at
 * `at` (just after "DICM"); undefined when that element is not there as explicit VR UL.
 */
export function fileMetaEnd(bytes: Uint8Array, at: number): number | undefined {
  const h = readElementHeader(bytes, at, EXPLICIT_LITTLE);
  if (typeof h === 'string' || h.tag !== 0x00020000 || h.vr !== 'UL' || h.length !== 4) return undefined;
  if (h.valueStart + 4 > bytes.length) return undefined;
  return (
    h.valueStart +
    4 +
    new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(h.valueStart, true)
  );
}

/**
 * The value of a file meta element (group 0002) of a Part 10 file, walking the meta elements from
 * just after "DICM"; undefined when it is not there.
 */
export function fileMetaValue(bytes: Uint8Array, tag: number): Uint8Array | undefined {
  let at = 132;
  for (let n = 0; n < 64; n++) {
    const h = readElementHeader(bytes, at, EXPLICIT_LITTLE);
    if (typeof h === 'string' || h.group !== 0x0002 || h.length === UNDEFINED_LENGTH) return undefined;
    if (h.valueStart + h.length > bytes.length) return undefined;
    if (h.tag === tag) return bytes.subarray(h.valueStart, h.valueStart + h.length);
    at = h.valueStart + h.length;
  }
  return undefined;
}
