/**
 * Encapsulated Pixel Data (PS3.5 A.4): a Basic Offset Table item, then fragments, then a
 * sequence delimiter. Splits it into one compressed byte string per frame, bounded by the
 * element's own length and by the frame count the header declares.
 */
import { EXPLICIT_LITTLE, ITEM_GROUP, readElementHeader, UNDEFINED_LENGTH } from '../dicom/elements';
import { TRANSFER_SYNTAX } from '../dicom/syntaxes';

/** The items of an encapsulated value (the bytes after the element's header). */
export function readItems(value: Uint8Array): Uint8Array[] | string {
  const items: Uint8Array[] = [];
  let at = 0;
  while (at + 8 <= value.length) {
    const h = readElementHeader(value, at, EXPLICIT_LITTLE);
    if (typeof h === 'string' || h.group !== ITEM_GROUP)
      return 'the encapsulated pixel data holds something other than items';
    if (h.element === 0xe0dd) return items; // the sequence delimiter
    if (h.element !== 0xe000) return 'the encapsulated pixel data holds something other than items';
    if (h.length === UNDEFINED_LENGTH || h.valueStart + h.length > value.length)
      return 'an encapsulated pixel data item is longer than the element';
    items.push(value.subarray(h.valueStart, h.valueStart + h.length));
    at = h.valueStart + h.length;
  }
  return 'the encapsulated pixel data has no sequence delimiter';
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** True when a fragment starts a new frame's codestream for the syntax (used without an offset table). */
function startsFrame(fragment: Uint8Array, syntax: string): boolean {
  if (syntax === TRANSFER_SYNTAX.RLELossless) return false; // RLE frames are one fragment each (PS3.5 A.4.2)
  if (syntax === TRANSFER_SYNTAX.JPEG2000Lossless || syntax === TRANSFER_SYNTAX.JPEG2000)
    return (fragment[0] === 0xff && fragment[1] === 0x4f) || (fragment[4] === 0x6a && fragment[5] === 0x50);
  return fragment[0] === 0xff && fragment[1] === 0xd8; // JPEG and JPEG-LS start of image
}

/**
 * The frames of an encapsulated value: by the offset table when it has one, one fragment per frame
 * when the counts agree, else by the codestream markers that open each frame.
 */
export function framesOf(value: Uint8Array, frameCount: number, syntax: string): Uint8Array[] | string {
  const items = readItems(value);
  if (typeof items === 'string') return items;
  const [table, ...fragments] = items;
  if (!table || fragments.length === 0) return 'the encapsulated pixel data has no fragments';
  if (frameCount === 1) return [concat(fragments)];
  if (table.length >= 4 * frameCount && table.length % 4 === 0) {
    const offsets = new DataView(table.buffer, table.byteOffset, table.byteLength);
    const frames: Uint8Array[] = [];
    let fragmentStart = 0;
    let f = 0;
    const starts = Array.from({ length: frameCount }, (_, i) => offsets.getUint32(i * 4, true));
    let current: Uint8Array[] = [];
    for (const fragment of fragments) {
      if (f + 1 < frameCount && fragmentStart === starts[f + 1]) {
        frames.push(concat(current));
        current = [];
        f++;
      }
      current.push(fragment);
      fragmentStart += 8 + fragment.length;
    }
    frames.push(concat(current));
    if (frames.length === frameCount) return frames;
    return 'the basic offset table does not match the fragments';
  }
  if (fragments.length === frameCount) return fragments;
  const frames: Uint8Array[][] = [];
  for (const fragment of fragments) {
    if (frames.length === 0 || startsFrame(fragment, syntax)) frames.push([fragment]);
    else frames[frames.length - 1]!.push(fragment);
  }
  if (frames.length !== frameCount)
    return 'the fragments of the encapsulated pixel data cannot be told apart into NumberOfFrames frames';
  return frames.map(concat);
}
