/**
 * What the text detector reads of one frame, as a viewer could show it: the frame itself (colour as
 * colour, a palette through its lookup tables, grey stretched over the frame's range) and the frame
 * histogram-equalised, which lifts text that a wide range hides (a few grey levels off its ground in
 * a 16-bit image that any narrow window would show). Small frames are read enlarged, as the
 * detector finds text best at 10 px and more.
 */
import type { DetectorImage } from './detect';
import { MAX_DETECTOR_SIDE } from './detect';
import { greyFrame, localContrast, sampleAt, topHat, upscale } from './grey';
import { frameBytes, type DecodedImage } from './image';
import { colourOf, type Palette } from './palette';

/** Frames whose longer side is at most this are read at twice their size. */
const ENLARGE_UP_TO = 640;

export interface DetectorView extends DetectorImage {
  /** Detector pixels per image pixel. */
  readonly scale: number;
}

/** The frame as 8-bit RGB (colour or palette), or undefined for grey frames. */
function colourFrame(img: DecodedImage, f: number, palette?: Palette): Uint8Array | undefined {
  const size = frameBytes(img);
  const frame = img.data.subarray(f * size, (f + 1) * size);
  const pixels = img.rows * img.columns;
  if (img.samples === 3) {
    const out = new Uint8Array(pixels * 3);
    for (let i = 0; i < out.length; i++) {
      const v = sampleAt(img, frame, i);
      out[i] = img.bitsAllocated === 8 ? v : v >> 8;
    }
    return out;
  }
  if (img.photometric !== 'PALETTE COLOR' || !palette) return undefined;
  const out = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) out.set(colourOf(palette, sampleAt(img, frame, p)), p * 3);
  return out;
}

/** Luminance (BT.601) of interleaved 8-bit RGB. */
function luminance(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgb.length / 3);
  for (let p = 0; p < out.length; p++)
    out[p] = (299 * rgb[p * 3]! + 587 * rgb[p * 3 + 1]! + 114 * rgb[p * 3 + 2]! + 500) / 1000;
  return out;
}

/**
 * Each level mapped to the mean of two ranks: its share of pixels at or below it (histogram
 * equalisation) and its place among the levels the frame uses (so a level only a few pixels hold,
 * text 4 levels above a ground of 1000 in a frame that also holds 0 and 65535, still stands
 * apart). Over the frame's own values: all 65536 levels of a 16-bit frame, not an 8-bit rendering.
 */
function rankMap(hist: Uint32Array, pixels: number): Uint8Array {
  let used = 0;
  for (const n of hist) if (n > 0) used++;
  const map = new Uint8Array(hist.length);
  let seen = 0;
  let place = 0;
  for (let v = 0; v < hist.length; v++) {
    if (hist[v] === 0) continue;
    seen += hist[v]!;
    const byPixels = seen / pixels;
    const byLevels = used > 1 ? place / (used - 1) : 1;
    map[v] = Math.round(127.5 * (byPixels + byLevels));
    place++;
  }
  return map;
}

export function equalised(img: DecodedImage, f: number, grey?: Uint8Array): Uint8Array {
  const pixels = img.rows * img.columns;
  const out = new Uint8Array(pixels);
  if (grey) {
    const hist = new Uint32Array(256);
    for (let p = 0; p < pixels; p++) hist[grey[p]!]!++;
    const map = rankMap(hist, pixels);
    for (let p = 0; p < pixels; p++) out[p] = map[grey[p]!]!;
    return out;
  }
  const size = frameBytes(img);
  const frame = img.data.subarray(f * size, (f + 1) * size);
  const offset = img.signed ? 32768 : 0;
  const hist = new Uint32Array(img.bitsAllocated === 8 ? 256 : 65536);
  for (let p = 0; p < pixels; p++) hist[sampleAt(img, frame, p) + offset]!++;
  const map = rankMap(hist, pixels);
  const invert = img.photometric === 'MONOCHROME1';
  for (let p = 0; p < pixels; p++) {
    const v = map[sampleAt(img, frame, p) + offset]!;
    out[p] = invert ? 255 - v : v;
  }
  return out;
}

function enlarged(img: DecodedImage, data: Uint8Array, channels: 1 | 3, own = false): DetectorView {
  const long = Math.max(img.rows, img.columns);
  const k = !own && long <= ENLARGE_UP_TO && long * 2 <= MAX_DETECTOR_SIDE ? 2 : 1;
  if (k === 1) return { width: img.columns, height: img.rows, channels, data, scale: 1 };
  if (channels === 1)
    return {
      width: img.columns * k,
      height: img.rows * k,
      channels,
      data: upscale(data, img.columns, img.rows, k),
      scale: k,
    };
  const planes = [0, 1, 2].map((c) => {
    const plane = new Uint8Array(img.rows * img.columns);
    for (let p = 0; p < plane.length; p++) plane[p] = data[p * 3 + c]!;
    return upscale(plane, img.columns, img.rows, k);
  });
  const out = new Uint8Array(planes[0]!.length * 3);
  for (let p = 0; p < planes[0]!.length; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = planes[c]![p]!;
  return { width: img.columns * k, height: img.rows * k, channels, data: out, scale: k };
}

/** Above this share of a frame within 1% of its extremes, the extremes view marks the extreme levels only. */
const MAX_EXTREME_SHARE = 0.25;

/**
 * The pixels at the frame's extremes (within 1% of its range of the lowest or highest value) as
 * dark on white: burned-in text is drawn at an extreme level, anatomy seldom sits there in thin
 * strokes, and text a few levels off a noisy ground of almost the same level (dark text on air)
 * stands out here as it does in no window.
 */
export function extremes(img: DecodedImage, f: number): Uint8Array {
  const size = frameBytes(img);
  const frame = img.data.subarray(f * size, (f + 1) * size);
  const pixels = img.rows * img.columns;
  let min = Infinity;
  let max = -Infinity;
  for (let p = 0; p < pixels; p++) {
    const v = sampleAt(img, frame, p);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mark = (margin: number): { out: Uint8Array; marked: number } => {
    const out = new Uint8Array(pixels);
    let marked = 0;
    for (let p = 0; p < pixels; p++) {
      const v = sampleAt(img, frame, p);
      const extreme = v <= min + margin || v >= max - margin;
      out[p] = extreme ? 0 : 255;
      if (extreme) marked++;
    }
    return { out, marked };
  };
  const wide = mark(Math.max(0, Math.floor((max - min) / 100)));
  // Anatomy that lies within 1% of an extreme (a CT whose soft tissue sits just above its minimum)
  // would bury the text in one dark blob: then only the extreme levels themselves are marked.
  return wide.marked > pixels * MAX_EXTREME_SHARE ? mark(0).out : wide.out;
}

/** A share of a frame at its darkest or lightest levels, above which the end window is read. */
const MIN_END_SHARE = 0.25;
/** The end window: the fifth of the levels at that end (a viewer's narrow window on air or on bone). */
const END_WINDOW = 51;
/** The end window enlarges so 7 px text reads at about 28 px, within the detector's side. */
const END_ENLARGE = 4;

/**
 * An 8-bit frame whose ground lies, for a quarter of its pixels or more, at its darkest (or
 * lightest) levels: that end stretched over the whole range, enlarged. Dark text over a brain that
 * an 8-bit rendering put at 0-6 of 255 differs from its ground by a few levels, invisible in the
 * frame as shown and in its equalised view (the many pixels at those levels share one rank), and
 * plain in this window. Undefined when no end holds that share.
 */
function endWindow(img: DecodedImage, shown: Uint8Array): DetectorView | undefined {
  let dark = 0;
  let light = 0;
  for (let p = 0; p < shown.length; p++) {
    if (shown[p]! < 8) dark++;
    else if (shown[p]! > 247) light++;
  }
  const end =
    dark >= shown.length * MIN_END_SHARE
      ? 'dark'
      : light >= shown.length * MIN_END_SHARE
        ? 'light'
        : undefined;
  if (!end) return undefined;
  const out = new Uint8Array(shown.length);
  for (let p = 0; p < shown.length; p++) {
    const v = end === 'dark' ? shown[p]! : 255 - shown[p]!;
    out[p] = v >= END_WINDOW ? 255 : Math.round((v * 255) / END_WINDOW);
  }
  const long = Math.max(img.rows, img.columns);
  const k = Math.max(1, Math.min(END_ENLARGE, Math.floor(MAX_DETECTOR_SIDE / long)));
  return {
    width: img.columns * k,
    height: img.rows * k,
    channels: 1,
    data: k === 1 ? out : upscale(out, img.columns, img.rows, k),
    scale: k,
  };
}

/**
 * The views the detector reads of one frame: as shown (enlarged, and at its own size); equalised; the equalised frame's small dark
 * and light features apart from what lies behind them (a top-hat: text over anatomy, faint text);
 * the equalised frame equalised again tile by tile (localContrast: faint text in one corner);
 * for 16-bit grey frames, its extremes; for 8-bit frames with a quarter of their pixels at one end,
 * that end's window.
 */
export function detectorViews(img: DecodedImage, f: number, palette?: Palette): DetectorView[] {
  const colour = colourFrame(img, f, palette);
  const eq = equalised(img, f, colour && luminance(colour));
  const features = (['dark', 'light'] as const).map((p) =>
    enlarged(img, topHat(eq, img.columns, img.rows, p), 1),
  );
  // Each part of the frame in its own window: text a few levels off the air in one corner.
  features.push(enlarged(img, localContrast(eq, img.columns, img.rows), 1));
  // Large text enlarged is too large for the detector: an enlarged frame is also read at its own size.
  const small = Math.max(img.rows, img.columns) <= ENLARGE_UP_TO;
  if (colour) {
    const end = endWindow(img, luminance(colour));
    return [
      enlarged(img, colour, 3),
      ...(small ? [enlarged(img, colour, 3, true)] : []),
      enlarged(img, eq, 1),
      ...features,
      ...(end ? [end] : []),
    ];
  }
  const shown = greyFrame(img, f, undefined, 'max');
  const grey = [
    enlarged(img, shown, 1),
    ...(small ? [enlarged(img, shown, 1, true)] : []),
    enlarged(img, eq, 1),
    ...features,
  ];
  // Extremes only at 16 bits, where a wide range can hide them: in 8-bit speckle every bright
  // grain is at the top of the range (790 "lines" on one ultrasound frame). At 8 bits, the end
  // window instead, where a quarter of the frame lies at one end.
  if (img.bitsAllocated === 16) return [...grey, enlarged(img, extremes(img, f), 1)];
  const end = endWindow(img, shown);
  return end ? [...grey, end] : grey;
}

/** A part of a frame (cut from cropSource), in image pixels, as the detector reads it: grey, enlarged so text of `textHeight` px reads at about 32. */
/** The grey rendering crops are cut from (cropView): colour as luminance, grey equalised. */
export function cropSource(img: DecodedImage, f: number): Uint8Array {
  const colour = colourFrame(img, f);
  return colour ? luminance(colour) : equalised(img, f);
}

export function cropView(
  img: DecodedImage,
  full: Uint8Array,
  box: { x: number; y: number; width: number; height: number },
  textHeight: number,
  /** Equalise the part over its own levels (the frame's window, made the part's). */
  own = false,
): DetectorView & { x: number; y: number } {
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(img.columns, Math.ceil(box.x + box.width));
  const y1 = Math.min(img.rows, Math.ceil(box.y + box.height));
  const w = Math.max(1, x1 - x0);
  const h = Math.max(1, y1 - y0);
  const part = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    part.set(full.subarray((y0 + y) * img.columns + x0, (y0 + y) * img.columns + x0 + w), y * w);
  if (own) {
    const hist = new Uint32Array(256);
    for (const v of part) hist[v]!++;
    const map = rankMap(hist, part.length);
    for (let i = 0; i < part.length; i++) part[i] = map[part[i]!]!;
  }
  const k = Math.max(
    1,
    Math.min(4, Math.round(32 / Math.max(1, textHeight)), Math.floor(MAX_DETECTOR_SIDE / Math.max(w, h))),
  );
  const data = k === 1 ? part : upscale(part, w, h, k);
  return { x: x0, y: y0, width: w * k, height: h * k, channels: 1, data, scale: k };
}
