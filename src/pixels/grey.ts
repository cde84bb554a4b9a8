/**
 * One frame of a DecodedImage as 8-bit grey for OCR: 16-bit samples stretched from the frame's
 * own minimum to its maximum (burned-in text is drawn at an extreme), colour as luminance, masked
 * pixels black. Small images are scaled up, as Tesseract reads text best at 20-30 pixels high.
 */
import { frameBytes, type DecodedImage } from './image';

export interface GreyImage {
  readonly width: number;
  readonly height: number;
  /** Scale from image pixels to grey pixels (1 or 2). */
  readonly scale: number;
  readonly data: Uint8Array;
}

/** Images whose longer side is at most this are scaled up 2x before OCR. */
const UPSCALE_BELOW = 1024;

function sampleAt(img: DecodedImage, frame: Uint8Array, index: number): number {
  if (img.bitsAllocated === 8) return frame[index]!;
  const v = frame[index * 2]! | (frame[index * 2 + 1]! << 8);
  return img.signed ? (v << 16) >> 16 : v;
}

/**
 * The frame's grey levels at full size; `mask` (rows x columns, 1 = masked) reads as the darkest
 * level. Colour becomes the brightest or the darkest of a pixel's three samples (`channel`): text in
 * a saturated colour on a grey ground (green on mid-grey) has almost the ground's luminance, but
 * not its brightest sample.
 */
function greyFrame(
  img: DecodedImage,
  f: number,
  mask: Uint8Array | undefined,
  channel: 'max' | 'min',
): Uint8Array {
  const size = frameBytes(img);
  const frame = img.data.subarray(f * size, (f + 1) * size);
  const pixels = img.rows * img.columns;
  const out = new Uint8Array(pixels);
  if (img.samples === 3) {
    for (let p = 0; p < pixels; p++) {
      const r = sampleAt(img, frame, p * 3);
      const g = sampleAt(img, frame, p * 3 + 1);
      const b = sampleAt(img, frame, p * 3 + 2);
      const v = channel === 'max' ? Math.max(r, g, b) : Math.min(r, g, b);
      out[p] = img.bitsAllocated === 8 ? v : Math.round(v / 257);
    }
  } else {
    let min = Infinity;
    let max = -Infinity;
    for (let p = 0; p < pixels; p++) {
      if (mask?.[p]) continue;
      const v = sampleAt(img, frame, p);
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const range = max > min ? max - min : 1;
    const invert = img.photometric === 'MONOCHROME1';
    for (let p = 0; p < pixels; p++) {
      const v = Math.round(((sampleAt(img, frame, p) - min) * 255) / range);
      const level = v < 0 ? 0 : v > 255 ? 255 : v;
      out[p] = invert ? 255 - level : level;
    }
  }
  if (mask) for (let p = 0; p < pixels; p++) if (mask[p]) out[p] = 0;
  return out;
}

/** Bilinear 2x enlargement. */
function upscale2(src: Uint8Array, w: number, h: number): Uint8Array {
  const W = w * 2;
  const H = h * 2;
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const sy = Math.max(0, (y - 0.5) / 2);
    const y0 = Math.min(h - 1, Math.floor(sy));
    const y1 = Math.min(h - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < W; x++) {
      const sx = Math.max(0, (x - 0.5) / 2);
      const x0 = Math.min(w - 1, Math.floor(sx));
      const x1 = Math.min(w - 1, x0 + 1);
      const fx = sx - x0;
      const top = src[y0 * w + x0]! * (1 - fx) + src[y0 * w + x1]! * fx;
      const bottom = src[y1 * w + x0]! * (1 - fx) + src[y1 * w + x1]! * fx;
      out[y * W + x] = Math.round(top * (1 - fy) + bottom * fy);
    }
  }
  return out;
}

function sized(img: DecodedImage, grey: Uint8Array): GreyImage {
  if (Math.max(img.rows, img.columns) > UPSCALE_BELOW)
    return { width: img.columns, height: img.rows, scale: 1, data: grey };
  return {
    width: img.columns * 2,
    height: img.rows * 2,
    scale: 2,
    data: upscale2(grey, img.columns, img.rows),
  };
}

/** The same image with light and dark swapped. */
export function inverted(img: GreyImage): GreyImage {
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = 255 - img.data[i]!;
  return { ...img, data };
}

/**
 * The grey images OCR reads for one frame, one per polarity, each with dark text on a light
 * ground (what Tesseract reads best). Monochrome: the image and its inverse. Colour: the inverse of
 * the brightest sample (light or saturated text turns dark) and the darkest sample (dark or
 * saturated text stays dark).
 */
export function greysForOcr(img: DecodedImage, frame: number, mask?: Uint8Array): GreyImage[] {
  if (img.samples === 3)
    return [
      inverted(sized(img, greyFrame(img, frame, mask, 'max'))),
      sized(img, greyFrame(img, frame, mask, 'min')),
    ];
  const grey = sized(img, greyFrame(img, frame, mask, 'max'));
  return [grey, inverted(grey)];
}

/** A binary PGM (P5) file of the image: the lightest format Tesseract's image reader takes. */
export function pgm(img: GreyImage): Buffer {
  const header = Buffer.from(`P5\n${img.width} ${img.height}\n255\n`, 'latin1');
  return Buffer.concat([header, img.data]);
}
