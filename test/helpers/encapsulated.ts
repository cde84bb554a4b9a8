/**
 * Encapsulated Pixel Data values made by hand, for tests and the decoder fuzz run: the bytes after
 * the element header (PS3.5 A.4), as the bridge reads them from a file.
 */

/** The value of one frame: an empty Basic Offset Table item, the frame's item (even length), the delimiter. */
export function oneFrameValue(frame: Uint8Array): Uint8Array {
  const even = frame.length + (frame.length % 2);
  const out = new Uint8Array(16 + even + 8);
  const v = new DataView(out.buffer);
  for (const at of [0, 8]) {
    v.setUint16(at, 0xfffe, true);
    v.setUint16(at + 2, 0xe000, true);
  }
  v.setUint32(12, even, true);
  out.set(frame, 16);
  v.setUint16(16 + even, 0xfffe, true);
  v.setUint16(18 + even, 0xe0dd, true);
  return out;
}
