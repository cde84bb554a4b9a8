import { NATIVE_PIXEL_SYNTAXES, TRANSFER_SYNTAX } from '../dicom/syntaxes';
import type { Dataset } from './types';
import { TAG } from '../dicom/tags';
import { str } from '../dicom/values';

/**
 * Clean Pixel Data by configured rectangles: for a manufacturer, model and image size whose
 * burned-in text sits at known places (an ultrasound scanner's header band, a modality's overlay
 * of the patient name), the profile lists the rectangles to blank. Only native (uncompressed)
 * pixel data can be blanked: the engine has no codec, and a compressed instance stays quarantined.
 */

export interface BlankRule {
  readonly manufacturer: string;
  /** ManufacturerModelName; any model of the manufacturer when absent. */
  readonly model?: string;
  readonly rows: number;
  readonly columns: number;
  /** [x, y, width, height] in pixels, from the top-left corner. */
  readonly rectangles: ReadonlyArray<readonly [number, number, number, number]>;
}

function num(ds: Dataset, tag: string): number | undefined {
  const v = ds[tag]?.Value?.[0];
  return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : undefined;
}

/** The first rule that names this instance's manufacturer, model and size. */
export function matchBlankRule(ds: Dataset, rules: readonly BlankRule[]): BlankRule | undefined {
  const manufacturer = str(ds[TAG.Manufacturer]).toLowerCase();
  const model = str(ds[TAG.ManufacturerModelName]).toLowerCase();
  const rows = num(ds, TAG.Rows);
  const columns = num(ds, TAG.Columns);
  return rules.find(
    (r) =>
      r.manufacturer.trim().toLowerCase() === manufacturer &&
      (r.model === undefined || r.model.trim().toLowerCase() === model) &&
      r.rows === rows &&
      r.columns === columns,
  );
}

interface Geometry {
  rows: number;
  columns: number;
  frames: number;
  samples: number;
  planar: boolean;
  bytesPerSample: number;
  fill: number;
}

const SUPPORTED_PHOTOMETRIC = new Set(['MONOCHROME1', 'MONOCHROME2', 'RGB', 'PALETTE COLOR']);

/** The pixel layout, or why the pixels cannot be blanked. */
function geometry(ds: Dataset): Geometry | string {
  const rows = num(ds, TAG.Rows);
  const columns = num(ds, TAG.Columns);
  const bits = num(ds, TAG.BitsAllocated);
  const stored = num(ds, TAG.BitsStored) ?? bits;
  const samples = num(ds, TAG.SamplesPerPixel) ?? 1;
  const frames = num(ds, TAG.NumberOfFrames) ?? 1;
  const photometric = str(ds[TAG.PhotometricInterpretation]).toUpperCase();
  if (!rows || !columns || !bits || !stored) return 'the image has no Rows, Columns or BitsAllocated';
  // The reasons name the attribute, never its value: a file's text may hold anything.
  if (bits !== 8 && bits !== 16) return 'BitsAllocated is neither 8 nor 16, the sizes that can be blanked';
  if (!SUPPORTED_PHOTOMETRIC.has(photometric))
    return 'PhotometricInterpretation is not one that can be blanked (MONOCHROME1/2, RGB and PALETTE COLOR can)';
  // Blank means black: the lowest value, except MONOCHROME1 where the highest stored value is black.
  const fill = photometric === 'MONOCHROME1' ? 2 ** stored - 1 : 0;
  return {
    rows,
    columns,
    frames,
    samples,
    planar: num(ds, TAG.PlanarConfiguration) === 1,
    bytesPerSample: bits / 8,
    fill,
  };
}

/** Transfer syntaxes with native (uncompressed) pixel data. */
const NATIVE_SYNTAXES = NATIVE_PIXEL_SYNTAXES;
const BIG_ENDIAN = TRANSFER_SYNTAX.ExplicitVRBigEndian;

function pixelBuffer(ds: Dataset, syntax: string): Uint8Array | string {
  const value = ds[TAG.PixelData]?.Value;
  if (!NATIVE_SYNTAXES.has(syntax) || !value || value.length !== 1 || !(value[0] instanceof ArrayBuffer))
    return 'the pixel data is compressed (encapsulated) and the engine has no codec to blank it';
  return new Uint8Array(value[0]);
}

/** Visits every byte range of every rectangle in every frame and sample plane. */
function forEachRun(g: Geometry, rule: BlankRule, fn: (offset: number, length: number) => void): void {
  const frameBytes = g.rows * g.columns * g.samples * g.bytesPerSample;
  for (let f = 0; f < g.frames; f++) {
    for (const [x, y, w, h] of rule.rectangles) {
      for (let row = y; row < y + h; row++) {
        if (g.planar) {
          for (let s = 0; s < g.samples; s++) {
            const plane = f * frameBytes + s * g.rows * g.columns * g.bytesPerSample;
            fn(plane + (row * g.columns + x) * g.bytesPerSample, w * g.bytesPerSample);
          }
        } else
          fn(
            f * frameBytes + (row * g.columns + x) * g.samples * g.bytesPerSample,
            w * g.samples * g.bytesPerSample,
          );
      }
    }
  }
}

function writeFill(view: Uint8Array, offset: number, length: number, g: Geometry, little: boolean): void {
  if (g.bytesPerSample === 1) {
    view.fill(g.fill, offset, offset + length);
    return;
  }
  const lo = g.fill & 0xff;
  const hi = (g.fill >> 8) & 0xff;
  for (let i = offset; i < offset + length; i += 2) {
    view[i] = little ? lo : hi;
    view[i + 1] = little ? hi : lo;
  }
}

/**
 * A copy of the dataset's pixel data with the rule's rectangles blanked, or why it cannot be.
 * `syntax` is the file's transfer syntax UID.
 */
export function blankPixels(ds: Dataset, rule: BlankRule, syntax: string): ArrayBuffer | string {
  const source = pixelBuffer(ds, syntax);
  if (typeof source === 'string') return source;
  const g = geometry(ds);
  if (typeof g === 'string') return g;
  const littleEndian = syntax !== BIG_ENDIAN;
  const needed = g.rows * g.columns * g.samples * g.bytesPerSample * g.frames;
  if (source.byteLength < needed) return 'the pixel data is shorter than Rows x Columns x frames';
  const out = new Uint8Array(source.byteLength);
  out.set(source);
  forEachRun(g, rule, (offset, length) => writeFill(out, offset, length, g, littleEndian));
  return out.buffer;
}

/** True when every rectangle of the rule is blank in the dataset's pixel data (the gate's check). */
export function rectanglesBlank(ds: Dataset, rule: BlankRule, syntax: string): boolean {
  const g = geometry(ds);
  const data = pixelBuffer(ds, syntax);
  if (typeof g === 'string' || typeof data === 'string') return false;
  const littleEndian = syntax !== BIG_ENDIAN;
  const expected = new Uint8Array(g.bytesPerSample === 1 ? 1 : 2);
  writeFill(expected, 0, expected.length, g, littleEndian);
  let blank = true;
  forEachRun(g, rule, (offset, length) => {
    for (let i = offset; blank && i < offset + length; i++)
      if (data[i] !== expected[(i - offset) % expected.length]) blank = false;
  });
  return blank;
}
