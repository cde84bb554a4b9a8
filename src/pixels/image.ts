/**
 * A decoded image: every frame as native little-endian samples, interleaved (PlanarConfiguration
 * 0), in MONOCHROME1/2, PALETTE COLOR or RGB. The decoders (codecs.ts) produce it from any
 * supported transfer syntax; masking, OCR and the gate read and write it.
 */
import type { Dataset } from '../deid/types';
import { TAG } from '../dicom/tags';
import { str } from '../dicom/values';

export interface ImageLayout {
  readonly rows: number;
  readonly columns: number;
  readonly frames: number;
  /** 1 (monochrome, palette) or 3 (colour). */
  readonly samples: 1 | 3;
  /** 8 or 16: the sizes the masking writes. */
  readonly bitsAllocated: 8 | 16;
  readonly bitsStored: number;
  /** PixelRepresentation 1: two's complement samples. */
  readonly signed: boolean;
  /** The photometric interpretation of the pixels as decoded. */
  readonly photometric: string;
  /** PlanarConfiguration of the stored (source) pixels; decoded pixels are always interleaved. */
  readonly planar: boolean;
}

export interface DecodedImage extends ImageLayout {
  /** rows x columns x samples x bytes per sample x frames, little endian, interleaved. */
  readonly data: Uint8Array;
}

/** The photometric interpretations the decoders accept (anything else is refused by name). */
export const DECODABLE_PHOTOMETRIC: ReadonlySet<string> = new Set([
  'MONOCHROME1',
  'MONOCHROME2',
  'PALETTE COLOR',
  'RGB',
  'YBR_FULL',
  'YBR_FULL_422',
  'YBR_RCT',
  'YBR_ICT',
]);

export function numberOf(ds: Dataset, tag: string): number | undefined {
  const v = ds[tag]?.Value?.[0];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Bytes of one decoded frame. */
export function frameBytes(l: ImageLayout): number {
  return l.rows * l.columns * l.samples * (l.bitsAllocated / 8);
}

/**
 * The image layout the header declares, or why the bridge cannot decode and mask it (naming the
 * attribute, never a value: a file's text may hold anything).
 */
export function layoutOf(ds: Dataset): ImageLayout | string {
  const rows = numberOf(ds, TAG.Rows);
  const columns = numberOf(ds, TAG.Columns);
  const bits = numberOf(ds, TAG.BitsAllocated);
  const stored = numberOf(ds, TAG.BitsStored) ?? bits;
  const samples = numberOf(ds, TAG.SamplesPerPixel) ?? 1;
  const frames = numberOf(ds, TAG.NumberOfFrames) ?? 1;
  const photometric = str(ds[TAG.PhotometricInterpretation]).trim().toUpperCase();
  if (!rows || !columns || !bits || !stored)
    return 'the image has no Rows, Columns, BitsAllocated or BitsStored';
  if (bits !== 8 && bits !== 16) return 'BitsAllocated is neither 8 nor 16, the sizes that can be masked';
  if (stored > bits) return 'BitsStored is larger than BitsAllocated';
  if (samples !== 1 && samples !== 3) return 'SamplesPerPixel is neither 1 nor 3';
  if (!Number.isInteger(frames) || frames < 1) return 'NumberOfFrames is not a positive whole number';
  if (!DECODABLE_PHOTOMETRIC.has(photometric))
    return 'PhotometricInterpretation is not one the decoders support (MONOCHROME1/2, PALETTE COLOR, RGB, YBR_FULL, YBR_FULL_422, YBR_RCT, YBR_ICT)';
  if ((samples === 3) !== ['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_RCT', 'YBR_ICT'].includes(photometric))
    return 'SamplesPerPixel does not match PhotometricInterpretation';
  return {
    rows,
    columns,
    frames,
    samples,
    bitsAllocated: bits,
    bitsStored: stored,
    signed: numberOf(ds, TAG.PixelRepresentation) === 1,
    photometric,
    planar: numberOf(ds, TAG.PlanarConfiguration) === 1,
  };
}

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** YBR_FULL (PS3.3 C.7.6.3.1.2) to RGB, in place, for 8-bit interleaved samples. */
export function ybrFullToRgb(data: Uint8Array): void {
  for (let i = 0; i + 2 < data.length; i += 3) {
    const y = data[i]!;
    const cb = data[i + 1]! - 128;
    const cr = data[i + 2]! - 128;
    data[i] = clamp8(y + 1.402 * cr);
    data[i + 1] = clamp8(y - 0.344136 * cb - 0.714136 * cr);
    data[i + 2] = clamp8(y + 1.772 * cb);
  }
}

/** Native YBR_FULL_422 (Y1 Y2 Cb Cr per pixel pair) to full-resolution interleaved YBR_FULL. */
export function expand422(src: Uint8Array, rows: number, columns: number): Uint8Array {
  const out = new Uint8Array(rows * columns * 3);
  const pairsPerRow = Math.ceil(columns / 2);
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < pairsPerRow; p++) {
      const at = (r * pairsPerRow + p) * 4;
      const cb = src[at + 2] ?? 128;
      const cr = src[at + 3] ?? 128;
      for (let k = 0; k < 2; k++) {
        const c = p * 2 + k;
        if (c >= columns) break;
        const o = (r * columns + c) * 3;
        out[o] = src[at + k] ?? 0;
        out[o + 1] = cb;
        out[o + 2] = cr;
      }
    }
  }
  return out;
}

/** Planar (RRR...GGG...BBB per frame) to interleaved (RGBRGB...), one frame. */
export function interleave(frame: Uint8Array, pixels: number, bytesPerSample: number): Uint8Array {
  const out = new Uint8Array(frame.length);
  for (let p = 0; p < pixels; p++)
    for (let s = 0; s < 3; s++)
      for (let b = 0; b < bytesPerSample; b++)
        out[(p * 3 + s) * bytesPerSample + b] = frame[(s * pixels + p) * bytesPerSample + b]!;
  return out;
}

/** The value a masked sample takes: black, which is the highest stored value for MONOCHROME1. */
export function blackValue(l: ImageLayout): number {
  if (l.photometric === 'MONOCHROME1') return l.signed ? 2 ** (l.bitsStored - 1) - 1 : 2 ** l.bitsStored - 1;
  return l.signed ? -(2 ** (l.bitsStored - 1)) : 0;
}
