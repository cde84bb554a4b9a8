/**
 * One frame of a DecodedImage as 8-bit grey for OCR: 16-bit samples stretched from the frame's
 * own minimum to its maximum (burned-in text is drawn at an extreme), colour by its brightest or
 * darkest sample, masked pixels at the median level. Small images are scaled up, as Tesseract reads text best at 20-30 pixels high.
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

/** One sample of a frame (16-bit little endian, signed when the image is). */
export function sampleAt(img: DecodedImage, frame: Uint8Array, index: number): number {
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
export function greyFrame(
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
      const v =
        channel === 'max'
          ? r > g
            ? r > b
              ? r
              : b
            : g > b
              ? g
              : b
          : r < g
            ? r < b
              ? r
              : b
            : g < b
              ? g
              : b;
      out[p] = img.bitsAllocated === 8 ? v : ((v + 128) / 257) | 0;
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
      const v = (((sampleAt(img, frame, p) - min) * 255 + (range >> 1)) / range) | 0;
      const level = v < 0 ? 0 : v > 255 ? 255 : v;
      out[p] = invert ? 255 - level : level;
    }
  }
  if (mask) {
    // Masked pixels read as the image's median level: a black box beside faint text would pull
    // the thresholding away from the text and hide it.
    const histogram = new Uint32Array(256);
    let unmasked = 0;
    for (let p = 0; p < pixels; p++)
      if (!mask[p]) {
        histogram[out[p]!]!++;
        unmasked++;
      }
    let level = 0;
    for (let seen = 0; level < 255 && seen + histogram[level]! <= unmasked / 2; level++)
      seen += histogram[level]!;
    for (let p = 0; p < pixels; p++) if (mask[p]) out[p] = level;
  }
  return out;
}

/**
 * Where output position i of an enlargement by k (or of a grid of n cells k wide, between their
 * centres) reads: two source indexes, and the second's weight as a fraction (0-1) and in fixed
 * point (0-256).
 */
function taps(n: number, k: number): { lo: Int32Array; hi: Int32Array; w: Int32Array; frac: Float32Array } {
  const lo = new Int32Array(n * k);
  const hi = new Int32Array(n * k);
  const w = new Int32Array(n * k);
  const frac = new Float32Array(n * k);
  for (let i = 0; i < n * k; i++) {
    const at = Math.max(0, (i + 0.5) / k - 0.5);
    const i0 = Math.min(n - 1, Math.floor(at));
    lo[i] = i0;
    hi[i] = Math.min(n - 1, i0 + 1);
    frac[i] = at - i0;
    w[i] = Math.round((at - i0) * 256);
  }
  return { lo, hi, w, frac };
}

/** Bilinear enlargement by a whole factor, in fixed point (weights of 1/256). */
export function upscale(src: Uint8Array, w: number, h: number, k: number): Uint8Array {
  const W = w * k;
  const H = h * k;
  const xs = taps(w, k);
  const ys = taps(h, k);
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const r0 = ys.lo[y]! * w;
    const r1 = ys.hi[y]! * w;
    const wy = ys.w[y]!;
    for (let x = 0; x < W; x++) {
      const x0 = xs.lo[x]!;
      const x1 = xs.hi[x]!;
      const wx = xs.w[x]!;
      const top = src[r0 + x0]! * (256 - wx) + src[r0 + x1]! * wx;
      const bottom = src[r1 + x0]! * (256 - wx) + src[r1 + x1]! * wx;
      out[y * W + x] = (top * (256 - wy) + bottom * wy + 32768) >> 16;
    }
  }
  return out;
}

/**
 * Which look OCR takes: `first`, for masking, reads images up to 1024 px at twice their size;
 * `second`, the gate's, reads them at three times their size, so that the two passes do not share
 * every blind spot (and small text left over is read at its largest).
 */
export type Look = 'first' | 'second';

const SECOND_LOOK_SCALE = 3;

function sized(img: DecodedImage, grey: Uint8Array, look: Look): GreyImage {
  const small = Math.max(img.rows, img.columns) <= UPSCALE_BELOW;
  const k = !small ? 1 : look === 'first' ? 2 : SECOND_LOOK_SCALE;
  if (k === 1) return { width: img.columns, height: img.rows, scale: 1, data: grey };
  return {
    width: img.columns * k,
    height: img.rows * k,
    scale: k,
    data: upscale(grey, img.columns, img.rows, k),
  };
}

/** The same image with light and dark swapped. */
export function inverted(img: GreyImage): GreyImage {
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = 255 - img.data[i]!;
  return { ...img, data };
}

/**
 * Minimum or maximum of `n` values read from `src` at `start`, `start + step`, ..., over a window
 * of 2r+1 around each, written to `dst` at the same places (van Herk / Gil-Werman: three
 * comparisons per value whatever the window; `g` and `h` are scratch of at least n + 2r).
 */
function rank1d(
  src: Uint8Array,
  dst: Uint8Array,
  start: number,
  step: number,
  n: number,
  r: number,
  max: boolean,
  g: Uint8Array,
  h: Uint8Array,
): void {
  const k = 2 * r + 1;
  const m = n + 2 * r;
  const pad = max ? 0 : 255;
  // Padded line: r values of padding at each end.
  for (let i = 0; i < m; i++) {
    const j = i - r;
    const v = j >= 0 && j < n ? src[start + j * step]! : pad;
    // g: running extreme from the start of each block of k; h: from the end of it (filled below).
    g[i] = i % k === 0 ? v : max ? (v > g[i - 1]! ? v : g[i - 1]!) : v < g[i - 1]! ? v : g[i - 1]!;
    h[i] = v;
  }
  for (let i = m - 2; i >= 0; i--)
    if ((i + 1) % k !== 0) {
      const a = h[i]!;
      const b = h[i + 1]!;
      h[i] = max ? (a > b ? a : b) : a < b ? a : b;
    }
  for (let j = 0; j < n; j++) {
    // Window [j, j + 2r] of the padded line.
    const a = h[j]!;
    const b = g[j + 2 * r]!;
    dst[start + j * step] = max ? (a > b ? a : b) : a < b ? a : b;
  }
}

/** Minimum or maximum over a (2r+1) x (2r+1) square around each pixel (separable: rows, then columns). */
export function rank(src: Uint8Array, w: number, h: number, r: number, op: 'min' | 'max'): Uint8Array {
  const max = op === 'max';
  const scratchG = new Uint8Array(Math.max(w, h) + 2 * r);
  const scratchH = new Uint8Array(Math.max(w, h) + 2 * r);
  const rows = new Uint8Array(src.length);
  for (let y = 0; y < h; y++) rank1d(src, rows, y * w, 1, w, r, max, scratchG, scratchH);
  const out = new Uint8Array(src.length);
  for (let x = 0; x < w; x++) rank1d(rows, out, x, w, h, r, max, scratchG, scratchH);
  return out;
}

/** Half the width of the strokes the top-hat keeps: text strokes up to 2 * STROKE + 1 pixels wide. */
const STROKE = 5;

/**
 * Small features of one polarity, apart from whatever lies behind them (a top-hat transform):
 * `light`, what is brighter than its surroundings (the image minus its opening); `dark`, what is
 * darker (the closing minus the image). Anything wider than the window (anatomy, a grey band,
 * a masked box) drops out, so text over an image reads as text on a plain ground. Returned as dark
 * features on white, stretched to the full range.
 */
export function topHat(g: Uint8Array, w: number, h: number, polarity: 'light' | 'dark'): Uint8Array {
  const first = rank(g, w, h, STROKE, polarity === 'light' ? 'min' : 'max');
  const back = rank(first, w, h, STROKE, polarity === 'light' ? 'max' : 'min');
  const out = new Uint8Array(g.length);
  let top = 1;
  for (let i = 0; i < g.length; i++) {
    const v = polarity === 'light' ? g[i]! - back[i]! : back[i]! - g[i]!;
    out[i] = v;
    if (v > top) top = v;
  }
  const half = top >> 1;
  for (let i = 0; i < out.length; i++) out[i] = 255 - (((out[i]! * 255 + half) / top) | 0);
  return out;
}

function featureImage(
  img: DecodedImage,
  grey: Uint8Array,
  polarity: 'light' | 'dark',
  look: Look,
): GreyImage {
  return sized(img, topHat(grey, img.columns, img.rows, polarity), look);
}

/**
 * Which reads: `all` three, or only the frame itself (`plain`), for ultrasound, whose speckle the
 * top-hat turns into thousands of letter-sized features that take OCR tens of seconds to dismiss.
 */
export type Reads = 'all' | 'plain';

/**
 * The grey images OCR reads for one frame: the frame itself (its brightest sample for colour,
 * inverted), for large text whose strokes are wider than the top-hat keeps; then its light
 * features and its dark features (top-hat), each as dark text on white, for text over an image,
 * faint text and text of either polarity. Colour: light features of the brightest sample, dark
 * ones of the darkest.
 */
export function greysForOcr(
  img: DecodedImage,
  frame: number,
  mask?: Uint8Array,
  look: Look = 'first',
  reads: Reads = 'all',
): GreyImage[] {
  const bright = greyFrame(img, frame, mask, 'max');
  if (reads === 'plain') {
    // At the frame's own size: speckle enlarged is only more speckle to dismiss.
    const own: GreyImage = { width: img.columns, height: img.rows, scale: 1, data: bright };
    return [img.samples === 3 ? inverted(own) : own];
  }
  const darkest = img.samples === 3 ? greyFrame(img, frame, mask, 'min') : bright;
  const plain = sized(img, bright, look);
  return [
    img.samples === 3 ? inverted(plain) : plain,
    featureImage(img, bright, 'light', look),
    featureImage(img, darkest, 'dark', look),
  ];
}

/** A binary PGM (P5) file of the image: the lightest format Tesseract's image reader takes. */
export function pgm(img: GreyImage): Buffer {
  const header = Buffer.from(`P5\n${img.width} ${img.height}\n255\n`, 'latin1');
  return Buffer.concat([header, img.data]);
}

/** The grid of tiles localContrast equalises apart (8 x 8: a 512-px frame in tiles of 64 px). */
const CONTRAST_TILES = 8;
/** How far above an even share of a tile's pixels one level may count (contrast-limited). */
const CONTRAST_CLIP = 4;

/** A tile's lookup table: its histogram, each level clipped and the excess spread evenly, summed. */
function tileMap(src: Uint8Array, w: number, x0: number, y0: number, x1: number, y1: number): Uint8Array {
  const hist = new Uint32Array(256);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) hist[src[y * w + x]!]!++;
  const n = (x1 - x0) * (y1 - y0);
  const limit = Math.max(1, Math.floor((CONTRAST_CLIP * n) / 256));
  let excess = 0;
  for (let v = 0; v < 256; v++)
    if (hist[v]! > limit) {
      excess += hist[v]! - limit;
      hist[v] = limit;
    }
  const even = Math.floor(excess / 256);
  let rest = excess - even * 256;
  const map = new Uint8Array(256);
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += hist[v]! + even + (rest > 0 ? 1 : 0);
    if (rest > 0) rest--;
    map[v] = Math.min(255, Math.round((seen * 255) / n));
  }
  return map;
}

/**
 * Contrast-limited adaptive histogram equalisation (CLAHE): each tile of the frame equalised over
 * its own levels, no level counting more than CONTRAST_CLIP even shares (so a flat ground is not
 * turned into noise), the tiles' tables blended bilinearly between tile centres. Text a few levels
 * off a ground that is dark only in its corner of the frame (the air beside a CT, 2-6 of 255)
 * stands out as it does in no global window, while a tile of anatomy keeps its own contrast.
 */
export function localContrast(src: Uint8Array, w: number, h: number): Uint8Array {
  const tilesX = Math.min(CONTRAST_TILES, w);
  const tilesY = Math.min(CONTRAST_TILES, h);
  const tw = Math.ceil(w / tilesX);
  const th = Math.ceil(h / tilesY);
  const maps: Uint8Array[] = [];
  for (let ty = 0; ty < tilesY; ty++)
    for (let tx = 0; tx < tilesX; tx++) {
      const x0 = tx * tw;
      const y0 = ty * th;
      maps.push(
        x0 < w && y0 < h
          ? tileMap(src, w, x0, y0, Math.min(w, x0 + tw), Math.min(h, y0 + th))
          : maps[maps.length - 1]!,
      );
    }
  // Where each column or row lies between tile centres: the two tiles and the second's weight.
  const xs = taps(tilesX, tw);
  const ys = taps(tilesY, th);
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const top = ys.lo[y]! * tilesX;
    const bottom = ys.hi[y]! * tilesX;
    const wy = ys.frac[y]!;
    for (let x = 0; x < w; x++) {
      const v = src[y * w + x]!;
      const wx = xs.frac[x]!;
      const a = maps[top + xs.lo[x]!]![v]! * (1 - wx) + maps[top + xs.hi[x]!]![v]! * wx;
      const b = maps[bottom + xs.lo[x]!]![v]! * (1 - wx) + maps[bottom + xs.hi[x]!]![v]! * wx;
      out[y * w + x] = Math.round(a * (1 - wy) + b * wy);
    }
  }
  return out;
}
