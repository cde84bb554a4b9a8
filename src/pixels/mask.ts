/**
 * Masks: one byte per pixel position (rows x columns, 1 = masked), applied to every frame and
 * every sample. A mask is the union of the configured rectangles, the area outside an ultrasound
 * image's regions, and the boxes of the text OCR found; masked samples take one constant value
 * (black: blackValue), everything else keeps its original value.
 */
import type { Dataset } from '../deid/types';
import { TAG } from '../dicom/tags';
import { blackValue, frameBytes, numberOf, type DecodedImage, type ImageLayout } from './image';
import type { Box } from './ocr';

export function emptyMask(l: ImageLayout): Uint8Array {
  return new Uint8Array(l.rows * l.columns);
}

/** Marks a box, grown by `pad` pixels on every side and clipped to the image. Returns the box as marked. */
export function markBox(mask: Uint8Array, l: ImageLayout, box: Box, pad = 0): Box | undefined {
  const x0 = Math.max(0, Math.floor(box.x - pad));
  const y0 = Math.max(0, Math.floor(box.y - pad));
  const x1 = Math.min(l.columns, Math.ceil(box.x + box.width + pad));
  const y1 = Math.min(l.rows, Math.ceil(box.y + box.height + pad));
  if (x1 <= x0 || y1 <= y0) return undefined;
  for (let y = y0; y < y1; y++) mask.fill(1, y * l.columns + x0, y * l.columns + x1);
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Marks everything outside the union of `regions`. */
export function markOutside(mask: Uint8Array, l: ImageLayout, regions: readonly Box[]): void {
  const inside = emptyMask(l);
  for (const r of regions) markBox(inside, l, r);
  for (let i = 0; i < mask.length; i++) if (!inside[i]) mask[i] = 1;
}

/**
 * The regions of an ultrasound image (SequenceOfUltrasoundRegions, PS3.3 C.8.5.5): boxes from
 * RegionLocationMinX0/MinY0 to MaxX1/MaxY1 inclusive. Undefined when the image declares none or a
 * region is not a box inside the image.
 */
export function ultrasoundRegions(ds: Dataset, l: ImageLayout): Box[] | undefined {
  const items = ds[TAG.SequenceOfUltrasoundRegions]?.Value;
  if (!items || items.length === 0) return undefined;
  const boxes: Box[] = [];
  for (const item of items) {
    const it = item as Dataset;
    const x0 = numberOf(it, TAG.RegionLocationMinX0);
    const y0 = numberOf(it, TAG.RegionLocationMinY0);
    const x1 = numberOf(it, TAG.RegionLocationMaxX1);
    const y1 = numberOf(it, TAG.RegionLocationMaxY1);
    if (x0 === undefined || y0 === undefined || x1 === undefined || y1 === undefined) return undefined;
    if (x0 < 0 || y0 < 0 || x1 < x0 || y1 < y0 || x1 >= l.columns || y1 >= l.rows) return undefined;
    boxes.push({ x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 });
  }
  return boxes;
}

/** Pixels the mask covers. */
export function maskedArea(mask: Uint8Array): number {
  let n = 0;
  for (const v of mask) n += v;
  return n;
}

function writeSample(data: Uint8Array, at: number, bytes: number, value: number): void {
  if (bytes === 1) data[at] = value & 0xff;
  else {
    data[at] = value & 0xff;
    data[at + 1] = (value >> 8) & 0xff;
  }
}

/** A copy of the image with every masked pixel of every frame and sample set to `black`. */
export function applyMask(img: DecodedImage, mask: Uint8Array, black = blackValue(img)): DecodedImage {
  const data = img.data.slice();
  const bytes = img.bitsAllocated / 8;
  const size = frameBytes(img);
  for (let f = 0; f < img.frames; f++)
    for (let p = 0; p < mask.length; p++) {
      if (!mask[p]) continue;
      for (let s = 0; s < img.samples; s++)
        writeSample(data, f * size + (p * img.samples + s) * bytes, bytes, black);
    }
  return { ...img, data };
}

/**
 * Why the output is not the original with exactly the mask applied, or undefined: every masked
 * sample must be black, every other sample equal to the decoded original's.
 */
export function maskMismatch(
  original: DecodedImage,
  output: DecodedImage,
  mask: Uint8Array,
  black = blackValue(original),
): string | undefined {
  if (
    original.rows !== output.rows ||
    original.columns !== output.columns ||
    original.frames !== output.frames ||
    original.samples !== output.samples ||
    original.bitsAllocated !== output.bitsAllocated ||
    original.data.length !== output.data.length
  )
    return 'the output image does not have the original geometry';
  const expected = new Uint8Array(output.bitsAllocated / 8);
  writeSample(expected, 0, expected.length, black);
  const stride = original.samples * expected.length;
  for (let i = 0; i < output.data.length; i++) {
    const p = Math.floor(i / stride) % mask.length;
    if (mask[p]) {
      if (output.data[i] !== expected[i % expected.length])
        return 'a masked region is not constant in the output';
    } else if (output.data[i] !== original.data[i])
      return 'pixels outside the masked regions differ from the original';
  }
  return undefined;
}
