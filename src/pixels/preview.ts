/**
 * A picture of a de-identified frame for the review pages: grey in the file's own window (Window
 * Center and Width, in rescaled units), else over the frame's own values (0.5th to 99.5th
 * percentile); MONOCHROME1 shown as it is meant, dark high; colour and
 * palette as colour, scaled down to fit `size`, and the masked rectangles outlined in magenta.
 * Only ever drawn from a de-identified copy: the review never shows an original's pixels.
 */
import { sampleAt } from './grey';
import { frameBytes, type DecodedImage } from './image';
import { colourOf, type Palette } from './palette';
import { encodePng } from './png';

/** Outline colour: a hue no grey or anatomy has. */
const OUTLINE = [255, 0, 255] as const;

/** A VOI window in the file's rescaled units (PS3.3 C.11.2.1.2: linear), with the rescale to reach them. */
export interface PreviewWindow {
  readonly center: number;
  readonly width: number;
  readonly slope: number;
  readonly intercept: number;
}

export interface PreviewBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Each sample of the frame as 0-255 RGB, at full size. */
function rgbOf(img: DecodedImage, f: number, palette?: Palette, window?: PreviewWindow): Uint8Array {
  const size = frameBytes(img);
  const frame = img.data.subarray(f * size, (f + 1) * size);
  const pixels = img.rows * img.columns;
  const out = new Uint8Array(pixels * 3);
  if (img.samples === 3) {
    for (let i = 0; i < pixels * 3; i++) {
      const v = sampleAt(img, frame, i);
      out[i] = img.bitsAllocated === 8 ? v : v >> 8;
    }
    return out;
  }
  if (img.photometric === 'PALETTE COLOR' && palette) {
    for (let p = 0; p < pixels; p++) out.set(colourOf(palette, sampleAt(img, frame, p)), p * 3);
    return out;
  }
  const values = new Float64Array(pixels);
  for (let p = 0; p < pixels; p++) values[p] = sampleAt(img, frame, p);
  let lo: number;
  let hi: number;
  if (window && window.width >= 1 && window.slope !== 0) {
    // The window's edges in stored values: rescaled = stored x slope + intercept.
    const edges = [
      window.center - 0.5 - (window.width - 1) / 2,
      window.center - 0.5 + (window.width - 1) / 2,
    ].map((v) => (v - window.intercept) / window.slope);
    lo = Math.min(edges[0]!, edges[1]!);
    hi = Math.max(edges[0]!, edges[1]!, lo + 1);
  } else {
    const sorted = Float64Array.from(values).sort();
    lo = sorted[Math.floor((pixels - 1) * 0.005)]!;
    hi = Math.max(lo + 1, sorted[Math.floor((pixels - 1) * 0.995)]!);
  }
  const invert = img.photometric === 'MONOCHROME1';
  for (let p = 0; p < pixels; p++) {
    const g = Math.max(0, Math.min(255, Math.round(((values[p]! - lo) * 255) / (hi - lo))));
    out.fill(invert ? 255 - g : g, p * 3, p * 3 + 3);
  }
  return out;
}

/** One frame at most `size` pixels on its longer side, the boxes (image pixels) outlined. */
function drawFrame(
  img: DecodedImage,
  f: number,
  boxes: readonly PreviewBox[],
  size: number,
  look: { readonly palette?: Palette; readonly window?: PreviewWindow },
): { w: number; h: number; out: Uint8Array } {
  const full = rgbOf(img, f, look.palette, look.window);
  const k = Math.min(1, size / Math.max(img.rows, img.columns));
  const w = Math.max(1, Math.round(img.columns * k));
  const h = Math.max(1, Math.round(img.rows * k));
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(img.rows - 1, Math.floor(y / k));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(img.columns - 1, Math.floor(x / k));
      out.set(full.subarray((sy * img.columns + sx) * 3, (sy * img.columns + sx) * 3 + 3), (y * w + x) * 3);
    }
  }
  const paint = (x: number, y: number) => {
    if (x >= 0 && y >= 0 && x < w && y < h) out.set(OUTLINE, (y * w + x) * 3);
  };
  for (const b of boxes) {
    const x0 = Math.floor(b.x * k) - 1;
    const y0 = Math.floor(b.y * k) - 1;
    const x1 = Math.ceil((b.x + b.width) * k);
    const y1 = Math.ceil((b.y + b.height) * k);
    for (let x = x0; x <= x1; x++) [y0, y1].forEach((y) => paint(x, y));
    for (let y = y0; y <= y1; y++) [x0, x1].forEach((x) => paint(x, y));
  }
  return { w, h, out };
}

/** The frame as a PNG at most `size` pixels on its longer side, the boxes (image pixels) outlined. */
export function previewPng(
  img: DecodedImage,
  f: number,
  boxes: readonly PreviewBox[],
  size: number,
  palette?: Palette,
  window?: PreviewWindow,
): Buffer {
  return stripPng(img, [f], () => boxes, size, palette, window);
}

/** The frames a multi-frame picture shows: the first, the middle and the last (once each). */
export function framesShown(frames: number): number[] {
  return [...new Set([0, Math.floor((frames - 1) / 2), frames - 1])];
}

/** Gap between the frames of a strip, in pixels (dark grey). */
const GAP = 4;

/**
 * Several frames side by side, each at most `size` pixels on its longer side with its own boxes
 * outlined: the first, middle and last frame of a multi-frame image.
 */
export function stripPng(
  img: DecodedImage,
  frames: readonly number[],
  boxesOf: (frame: number) => readonly PreviewBox[],
  size: number,
  palette?: Palette,
  window?: PreviewWindow,
): Buffer {
  const tiles = frames.map((f) => drawFrame(img, f, boxesOf(f), size, { palette, window }));
  const h = tiles[0]!.h;
  const w = tiles.reduce((n, t) => n + t.w, 0) + GAP * (tiles.length - 1);
  const out = new Uint8Array(w * h * 3).fill(48);
  let x0 = 0;
  for (const t of tiles) {
    for (let y = 0; y < h; y++) out.set(t.out.subarray(y * t.w * 3, (y + 1) * t.w * 3), (y * w + x0) * 3);
    x0 += t.w + GAP;
  }
  return encodePng(w, h, out);
}
