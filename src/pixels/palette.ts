/**
 * PALETTE COLOR images (PS3.3 C.7.6.3.1.5, C.7.9): each stored value is an index into red, green
 * and blue lookup tables. Masking writes an index, so "black" is the index whose colour is the
 * darkest, not index 0 (which a palette may map to white, or to a mid grey); the detector reads the
 * colours a viewer shows.
 */
import type { Dataset } from '../deid/types';
import { TAG } from '../dicom/tags';

export interface Palette {
  /** The first stored value mapped (values below map to the first entry, above to the last). */
  readonly first: number;
  /** 8-bit colours, one triple per entry (red, green, blue). */
  readonly rgb: Uint8Array;
  readonly entries: number;
}

function descriptor(ds: Dataset, tag: string): [number, number, number] | undefined {
  const v = ds[tag]?.Value;
  if (!v || v.length < 3) return undefined;
  const [n, first, bits] = v.map(Number) as [number, number, number];
  if (![n, first, bits].every(Number.isFinite)) return undefined;
  // PS3.3 C.7.6.3.1.5: 0 entries means 65536.
  return [n === 0 ? 65536 : n, first, bits];
}

function lutWords(ds: Dataset, tag: string): Uint8Array | undefined {
  const v: unknown = ds[tag]?.Value?.[0];
  // By tag rather than instanceof: a buffer made in another realm (a worker, a test's vm) is one too.
  if (Object.prototype.toString.call(v) === '[object ArrayBuffer]') return new Uint8Array(v as ArrayBuffer);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return undefined;
}

/** The image's palette, or undefined when it has none that can be read (segmented palettes included). */
export function paletteOf(ds: Dataset): Palette | undefined {
  const tags = [
    [TAG.RedPaletteColorLookupTableDescriptor, TAG.RedPaletteColorLookupTableData],
    [TAG.GreenPaletteColorLookupTableDescriptor, TAG.GreenPaletteColorLookupTableData],
    [TAG.BluePaletteColorLookupTableDescriptor, TAG.BluePaletteColorLookupTableData],
  ] as const;
  const d = descriptor(ds, tags[0][0]);
  if (!d) return undefined;
  const [entries, first, bits] = d;
  if (entries > 65536 || (bits !== 8 && bits !== 16)) return undefined;
  const rgb = new Uint8Array(entries * 3);
  for (let c = 0; c < 3; c++) {
    const dc = descriptor(ds, tags[c]![0]);
    const data = lutWords(ds, tags[c]![1]);
    if (!dc || dc[0] !== entries || dc[1] !== first || !data) return undefined;
    // Entries are 16-bit words; with 8 bits per entry some writers pack two a word, most do not.
    const packed = bits === 8 && data.length === entries;
    if (!packed && data.length < entries * 2) return undefined;
    for (let i = 0; i < entries; i++) {
      const v = packed ? data[i]! : data[i * 2]! | (data[i * 2 + 1]! << 8);
      rgb[i * 3 + c] = bits === 8 ? v & 0xff : v >> 8;
    }
  }
  return { first, rgb, entries };
}

/** The stored value whose colour is the darkest (lowest luminance, BT.601 weights). */
export function darkestIndex(p: Palette): number {
  let best = 0;
  let bestY = Infinity;
  for (let i = 0; i < p.entries; i++) {
    const y = 299 * p.rgb[i * 3]! + 587 * p.rgb[i * 3 + 1]! + 114 * p.rgb[i * 3 + 2]!;
    if (y < bestY) {
      bestY = y;
      best = i;
    }
  }
  return p.first + best;
}

/** The colour of a stored value. */
export function colourOf(p: Palette, value: number): [number, number, number] {
  const i = Math.max(0, Math.min(p.entries - 1, value - p.first));
  return [p.rgb[i * 3]!, p.rgb[i * 3 + 1]!, p.rgb[i * 3 + 2]!];
}
