/**
 * RLE Lossless (PS3.5 Annex G) decoding of one frame: a 64-byte header (segment count, then up
 * to 15 segment offsets), each segment a PackBits run of one byte plane (per sample, most
 * significant byte first). Output: interleaved little-endian samples. Every read and write is
 * bounded by the frame's declared size; a segment that would overrun is an error, not a resize.
 */
export function decodeRle(
  frame: Uint8Array,
  pixels: number,
  samples: number,
  bytesPerSample: number,
): Uint8Array | string {
  if (frame.length < 64) return 'an RLE frame is shorter than its 64-byte header';
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = view.getUint32(0, true);
  if (segments !== samples * bytesPerSample)
    return 'an RLE frame has a segment count that does not match the image';
  const offsets: number[] = [];
  for (let s = 0; s < segments; s++) offsets.push(view.getUint32(4 + s * 4, true));
  const out = new Uint8Array(pixels * samples * bytesPerSample);
  for (let s = 0; s < segments; s++) {
    const start = offsets[s]!;
    const end = s + 1 < segments ? offsets[s + 1]! : frame.length;
    if (start < 64 || end > frame.length || end < start)
      return 'an RLE segment offset lies outside the frame';
    const sample = Math.floor(s / bytesPerSample);
    // Segment 0 of a sample is its most significant byte; little endian puts it last.
    const byte = bytesPerSample - 1 - (s % bytesPerSample);
    const stride = samples * bytesPerSample;
    let outAt = sample * bytesPerSample + byte;
    let written = 0;
    let at = start;
    while (at < end && written < pixels) {
      const n = (frame[at++]! << 24) >> 24; // signed byte
      if (n >= 0) {
        const count = Math.min(n + 1, end - at, pixels - written);
        for (let k = 0; k < count; k++, outAt += stride) out[outAt] = frame[at + k]!;
        at += n + 1;
        written += count;
      } else if (n !== -128) {
        if (at >= end) break;
        const value = frame[at++]!;
        const count = Math.min(1 - n, pixels - written);
        for (let k = 0; k < count; k++, outAt += stride) out[outAt] = value;
        written += count;
      }
    }
    if (written < pixels) return 'an RLE segment decodes to fewer bytes than the image needs';
  }
  return out;
}
