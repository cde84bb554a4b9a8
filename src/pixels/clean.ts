/**
 * Clean Pixel Data (PS3.15 E.3.1): decode the instance's pixels, blank the configured rectangles,
 * mask everything outside an ultrasound image's regions, find burned-in text with OCR and mask it
 * (all of it, or what identifies, per the profile), and give back the instance rewritten with the
 * masked pixels uncompressed (explicit VR little endian). The original decoded image and the mask
 * go with it, for the gate to prove the result (verify/pixels.ts).
 */
import type { DicomFile } from '../dicom/file';
import type { OcrPolicy } from '../deid/profile';
import type { Dataset } from '../deid/types';
import { NATIVE_PIXEL_SYNTAXES, TRANSFER_SYNTAX } from '../dicom/syntaxes';
import { TAG } from '../dicom/tags';
import { str } from '../dicom/values';
import { Codecs, DECODABLE_SYNTAXES, LOSSY_SYNTAXES, decodeEncapsulated, decodeNative } from './codecs';
import { blackValue, frameBytes, layoutOf, type DecodedImage } from './image';
import { applyMask, emptyMask, markBox, markOutside, maskedArea, ultrasoundRegions } from './mask';
import { DetectorError, lineShaped, readInside, tallLineConfirmed, type TextBox } from './detect';
import type { TextDetector } from './detector';
import type { Box, OcrPool, Word } from './ocr';
import { darkestIndex, paletteOf, type Palette } from './palette';
import { cropView } from './views';
import { inverted } from './grey';
import type { BlankRule } from './regions';
import { identifyingWords } from './text';

/** The engines a clean needs, owned by the process state (they outlive one instance). */
export interface PixelEngines {
  readonly codecs: Codecs;
  readonly ocr: OcrPool;
  readonly detector: TextDetector;
}

export interface CleanRequest {
  /** The parsed original (header, and the pixel value when native). */
  readonly file: DicomFile;
  /** The encapsulated Pixel Data value (the bytes after the element header), when compressed. */
  readonly encapsulated?: Uint8Array;
  readonly rule?: BlankRule;
  /** Read the pixels with OCR and mask the text (the policy's decision); false: rectangles only. */
  readonly ocr: boolean;
  readonly policy: OcrPolicy;
  /** Identity tokens of the header (text.ts identityTokens), for mask-identifying. */
  readonly tokens: ReadonlySet<string>;
}

/** What the pixel stage hands the gate: the cleaned pixels, the header's identity tokens, whether OCR ran. */
export interface PixelCleanResult {
  readonly cleaned: CleanedPixels;
  readonly tokens: ReadonlySet<string>;
  readonly ocr: boolean;
}

export interface CleanedPixels {
  /** The instance with the masked pixels, native explicit VR little endian, BurnedInAnnotation NO. */
  readonly file: DicomFile;
  readonly original: DecodedImage;
  readonly cleaned: DecodedImage;
  readonly mask: Uint8Array;
  /** The value every masked sample holds (pixels/clean.ts maskValueOf). */
  readonly value: number;
  /** Every region masked and why: the mask is exactly their union. */
  readonly maskRegions: readonly MaskRegion[];
  /** Masked regions: configured rectangles, the outside of ultrasound regions, text boxes. */
  readonly regions: number;
  /** Pixels masked (per frame position). */
  readonly area: number;
}

/**
 * A transfer syntax as a reason may name it: the standard's keyword for one the bridge knows, never
 * the file's own string (a UID field of a crafted file can carry any digits, a patient ID's too).
 */
export function syntaxName(uid: string): string {
  const known = Object.entries(TRANSFER_SYNTAX).find(([, v]) => v === uid);
  return known ? `transfer syntax ${known[0]}` : 'an unknown transfer syntax';
}

/** The decoded image of an instance, or why it cannot be decoded (a named reason, no value). */
export async function decodeInstance(
  codecs: Codecs,
  file: DicomFile,
  encapsulated?: Uint8Array,
  /** Decoded bytes per coded byte a compressed frame may declare (untrusted originals). */
  maxRatio?: number,
): Promise<DecodedImage | string> {
  const syntax = str(file.meta[TAG.TransferSyntaxUID]);
  if (!DECODABLE_SYNTAXES.has(syntax))
    return `no decoder for ${syntaxName(syntax)} (JPIP, video or deflated frames)`;
  const layout = layoutOf(file.dict);
  if (typeof layout === 'string') return layout;
  if (NATIVE_PIXEL_SYNTAXES.has(syntax)) {
    const value = file.dict[TAG.PixelData]?.Value;
    if (!value || value.length !== 1 || !(value[0] instanceof ArrayBuffer))
      return 'the native pixel data cannot be read';
    return decodeNative(new Uint8Array(value[0]), layout, syntax === TRANSFER_SYNTAX.ExplicitVRBigEndian);
  }
  if (!encapsulated) return 'the encapsulated pixel data cannot be located in the file';
  return decodeEncapsulated(codecs, syntax, encapsulated, layout, maxRatio);
}

/** The instance rewritten around new native pixels: explicit VR little endian, interleaved, decoded photometric. */
export function withPixels(file: DicomFile, img: DecodedImage): DicomFile {
  const syntax = str(file.meta[TAG.TransferSyntaxUID]);
  // A value has an even length (PS3.5 7.1.1): an odd count of 8-bit samples gets one zero byte.
  const even = new Uint8Array(img.data.length + (img.data.length % 2));
  even.set(img.data);
  const data = even.buffer;
  const dict: Dataset = {
    ...file.dict,
    [TAG.PhotometricInterpretation]: { vr: 'CS', Value: [img.photometric] },
    [TAG.BurnedInAnnotation]: { vr: 'CS', Value: ['NO'] },
    [TAG.PixelData]: { vr: img.bitsAllocated === 8 ? 'OB' : 'OW', Value: [data] },
  };
  if (img.samples === 3) dict[TAG.PlanarConfiguration] = { vr: 'US', Value: [0] };
  // Decompressing loses nothing more; a lossy source stays marked lossy (PS3.3 C.7.6.1.1.5).
  if (LOSSY_SYNTAXES.has(syntax) && str(file.dict[TAG.LossyImageCompression]) === '')
    dict[TAG.LossyImageCompression] = { vr: 'CS', Value: ['01'] };
  const meta: Dataset = {
    ...file.meta,
    [TAG.TransferSyntaxUID]: { vr: 'UI', Value: [TRANSFER_SYNTAX.ExplicitVRLittleEndian] },
  };
  return { meta, dict };
}

/** The longest side of a frame OCR reads. */
export const MAX_OCR_SIDE = 16384;

/**
 * The most pixels per frame OCR reads: 4096 x 4096. The views are rendered in workers, but writing,
 * proving and parsing a frame still take the event loop about 0.8 s at this size (measured: 2.5 s
 * before the views moved off it), and four times that at 8192 x 8192. Screens up to 5K fit.
 */
export const MAX_OCR_PIXELS = 4096 * 4096;

/** Whether two boxes share a pixel. */
export function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function inside(b: Box, regions: readonly Box[]): boolean {
  const cx = b.x + b.width / 2;
  const cy = b.y + b.height / 2;
  return regions.some((r) => cx >= r.x && cx < r.x + r.width && cy >= r.y && cy < r.y + r.height);
}

/** Why a pixel is masked: an admin's rectangle, the outside of an ultrasound's regions, or text read. */
export interface MaskRegion extends Box {
  readonly source: 'rectangle' | 'outside-regions' | 'text';
  /** For text: the frame it was found in (from 0). */
  readonly frame?: number;
  /** For text: the detector's score (0-1), or undefined for an identifying word OCR read. */
  readonly score?: number;
}

/**
 * The text of one frame to mask, in image pixels: the lines the detector found (all of them under
 * mask-all-text; under mask-identifying those holding an identifying word), and every word OCR read
 * that identifies (a name, an ID, a date, a time, a long number, alone or with its neighbours),
 * widened by half its height at each end (LSTM word boxes can stop short of the last letters).
 * Words OCR read that are neither in a detected line nor identifying are not masked: Tesseract
 * reads texture as words, and masking those destroyed the image. With ultrasound regions, only text
 * inside them (outside is masked whole).
 */
export function textToMask(
  lines: readonly TextBox[],
  words: readonly Word[],
  policy: OcrPolicy,
  tokens: ReadonlySet<string>,
  regions?: readonly Box[],
): Array<{ box: Box; score?: number }> {
  const { indexes } = identifyingWords(words, tokens);
  const identifying = words.filter((_, i) => indexes.has(i)).map((w) => w.box);
  // Inside ultrasound regions the pixels are the image, and speckle can look like print to the
  // detector too: there a line is masked when OCR also read a word in it (or it identifies).
  const confirmed = regions ? lines.filter((l) => !inside(l, regions) || readInside(l, words)) : lines;
  const chosen =
    policy.mode === 'mask-identifying'
      ? lines.filter((l) => identifying.some((b) => overlaps(l, b)))
      : confirmed;
  const out: Array<{ box: Box; score?: number }> = chosen.map((l) => {
    // A line's first or last glyph can fall outside the detector's box: half its height more at
    // each end (at most 8 px: large text is found whole). A quarter left the last stroke of an ID
    // drawn over bright bone in a real CT (the masking benchmark).
    const grow = Math.min(8, Math.ceil(l.height / 2));
    return { box: { x: l.x - grow, y: l.y, width: l.width + 2 * grow, height: l.height }, score: l.score };
  });
  for (const w of identifying) {
    // OCR's word boxes over an image can take in the texture around the word (a box five lines
    // high for one line of text): a word is masked only along each line the detector found it in,
    // at that line's height, and at most two line heights past the line's ends (LSTM boxes can
    // stop short of a last letter; the detector can miss a first word). A word the detector found
    // no line in was looked at again, closer (wordLines); if the detector sees no text there either,
    // the gate's own OCR pass decides.
    for (const l of lines.filter((line) => overlaps(line, w))) {
      const grow = Math.ceil(l.height / 2);
      const x0 = Math.max(w.x - grow, l.x - 2 * l.height);
      const x1 = Math.min(w.x + w.width + grow, l.x + l.width + 2 * l.height);
      if (x1 > x0) out.push({ box: { x: x0, y: l.y, width: x1 - x0, height: l.height }, score: l.score });
    }
  }
  return regions ? out.filter((o) => inside(o.box, regions)) : out;
}

/** The detector's lines of one frame, from every view, in image pixels. */
async function detectLines(
  engines: PixelEngines,
  img: DecodedImage,
  frame: number,
  palette?: Palette,
): Promise<TextBox[]> {
  const out: TextBox[] = [];
  // Rendered in a decoder worker, off the event loop (tens of seconds on a crafted large frame).
  const views = await engines.codecs.views(img, frame, 'detector', { palette });
  if (typeof views === 'string') throw new DetectorError(views);
  for (const view of views) out.push(...inImage(await engines.detector.detect(view), view));
  return out;
}

/**
 * The grey rendering crops are cut from (views.ts cropSource), rendered in a decoder worker once per
 * frame, on first use: the looks at words, at line ends and inside ultrasound regions share it.
 */
function cropSourceOnce(engines: PixelEngines, img: DecodedImage, frame: number): () => Promise<Uint8Array> {
  let source: Promise<Uint8Array> | undefined;
  return () =>
    (source ??= engines.codecs.views(img, frame, 'crop').then((views) => {
      if (typeof views === 'string') throw new DetectorError(views);
      return views[0]!.data;
    }));
}

/** Detector boxes of a view, in image pixels, that can be text lines (tall ones are confirmed later). */
function inImage(boxes: readonly TextBox[], view: { scale: number; x?: number; y?: number }): TextBox[] {
  const out: TextBox[] = [];
  for (const b of boxes) {
    const x = Math.floor(b.x / view.scale) + (view.x ?? 0);
    const y = Math.floor(b.y / view.scale) + (view.y ?? 0);
    const line = {
      x,
      y,
      width: Math.ceil((b.x + b.width) / view.scale) + (view.x ?? 0) - x,
      height: Math.ceil((b.y + b.height) / view.scale) + (view.y ?? 0) - y,
      score: b.score,
    };
    if (lineShaped(line)) out.push(line);
  }
  return out;
}

/**
 * Identifying words OCR read where the detector found no line: each looked at again, alone and
 * enlarged (a line of small or faint text the whole frame's view missed), and the lines found
 * there added to the frame's.
 */
async function wordLines(
  engines: PixelEngines,
  img: DecodedImage,
  crops: () => Promise<Uint8Array>,
  lines: readonly TextBox[],
  words: readonly Word[],
  tokens: ReadonlySet<string>,
): Promise<TextBox[]> {
  const { indexes } = identifyingWords(words, tokens);
  const out: TextBox[] = [];
  for (const [i, w] of words.entries()) {
    if (!indexes.has(i) || lines.some((l) => overlaps(l, w.box)) || out.some((l) => overlaps(l, w.box)))
      continue;
    const margin = Math.max(4, Math.ceil(w.box.height / 2));
    const around = {
      x: w.box.x - margin,
      y: w.box.y - margin,
      width: w.box.width + 2 * margin,
      height: w.box.height + 2 * margin,
    };
    // Text height: OCR's box is a word's, unless it took in texture; a line is seldom over 32 px.
    const view = cropView(img, await crops(), around, Math.min(w.box.height, 32));
    out.push(...inImage(await engines.detector.detect(view), view).filter((l) => overlaps(l, w.box)));
  }
  return out;
}

/** At most this many lines per frame are looked at again along their row (lineEnds). */
const MAX_LINE_LOOKS = 32;
/** How far past each end of a line its row is looked at again, in line heights. */
const LINE_REACH = 3;

/** Whether a line found along the row of `l` continues it: on its row, of its height. */
function continues(b: Box, l: Box): boolean {
  const overlap = Math.min(b.y + b.height, l.y + l.height) - Math.max(b.y, l.y);
  return overlap >= Math.min(b.height, l.height) / 2 && b.height <= l.height * 1.5;
}

/**
 * Each line's row looked at again, alone, a few line heights past each end, in the row's own
 * window (equalised over the part): a line's first or last glyphs over a ground darker or lighter
 * than the rest of the line stand out there as they do in no view of the whole frame (the start of
 * a date over an MR's darkest tissue; the first letters of a name over a CT's air). The lines
 * found there that continue the line are added.
 */
async function lineEnds(
  engines: PixelEngines,
  img: DecodedImage,
  crops: () => Promise<Uint8Array>,
  lines: readonly TextBox[],
): Promise<TextBox[]> {
  if (lines.length === 0) return [];
  const full = await crops();
  const out: TextBox[] = [];
  for (const l of [...lines].sort((a, b) => b.score - a.score).slice(0, MAX_LINE_LOOKS)) {
    const reach = LINE_REACH * l.height;
    const half = Math.ceil(l.height / 2);
    const view = cropView(
      img,
      full,
      { x: l.x - reach, y: l.y - half, width: l.width + 2 * reach, height: l.height + 2 * half },
      l.height,
      true,
    );
    out.push(...inImage(await engines.detector.detect(view), view).filter((b) => continues(b, l)));
  }
  return out;
}

/** At most this many lines per frame are looked at closer inside ultrasound regions (readCloser). */
const MAX_CLOSER_READS = 32;

/**
 * Inside ultrasound regions OCR reads the frame once, at its own size (speckle enlarged is only
 * more speckle), and small text there is not read: 8 px print was left legible (issue 22, row 6).
 * So each detected line inside a region that no word confirms is read again alone: its crop,
 * enlarged so that its text is about 32 px high, in both polarities. The words read are given in
 * image pixels, to be weighed as the frame's own (readInside, identifyingWords). The
 * MAX_CLOSER_READS lines the detector is surest of are read; any left are for the gate's full read.
 */
async function readCloser(
  engines: PixelEngines,
  img: DecodedImage,
  crops: () => Promise<Uint8Array>,
  lines: readonly TextBox[],
  words: readonly Word[],
  regions: readonly Box[],
): Promise<Word[]> {
  const open = lines
    .filter((l) => inside(l, regions) && !readInside(l, words))
    .sort((a, b) => b.score - a.score)
    .slice(0, MAX_CLOSER_READS);
  if (open.length === 0) return [];
  const full = await crops();
  const out: Word[] = [];
  // Each read's lines numbered apart from the frame's and from each other's (identifyingWords
  // joins neighbours on one line only).
  let lines0 = 1 + Math.max(0, ...words.map((w) => w.line));
  for (const l of open) {
    const margin = Math.max(2, Math.ceil(l.height / 2));
    const view = cropView(
      img,
      full,
      { x: l.x - margin, y: l.y - margin, width: l.width + 2 * margin, height: l.height + 2 * margin },
      l.height,
    );
    const grey = { width: view.width, height: view.height, scale: 1, data: view.data };
    for (const look of [grey, inverted(grey)]) {
      const read = await engines.ocr.words(look);
      const at = (b: Box): Box => ({
        x: view.x + Math.floor(b.x / view.scale),
        y: view.y + Math.floor(b.y / view.scale),
        width: Math.ceil(b.width / view.scale),
        height: Math.ceil(b.height / view.scale),
      });
      const mapped = read.map((w) => ({
        ...w,
        box: at(w.box),
        lineBox: at(w.lineBox),
        line: lines0 + w.line,
      }));
      lines0 += 1 + Math.max(0, ...read.map((w) => w.line));
      out.push(...mapped);
      if (readInside(l, mapped)) break;
    }
  }
  return out;
}

/** The value masked samples take: the admin's, or the darkest the image can show. */
export function maskValueOf(
  img: DecodedImage,
  palette: Palette | undefined,
  policy: OcrPolicy,
): number | string {
  const set = policy.maskValue;
  if (set === undefined) return palette ? darkestIndex(palette) : blackValue(img);
  const lo = img.signed ? -(2 ** (img.bitsStored - 1)) : 0;
  const hi = img.signed ? 2 ** (img.bitsStored - 1) - 1 : 2 ** img.bitsStored - 1;
  if (set < lo || set > hi)
    return `the profile's ocr.maskValue is outside the range of the image's BitsStored`;
  return set;
}

export async function cleanPixels(req: CleanRequest, engines: PixelEngines): Promise<CleanedPixels | string> {
  // Bounds from the header, before anything is decoded: a few kilobytes of codestream can
  // declare gigabytes of pixels.
  const declared = layoutOf(req.file.dict);
  if (typeof declared === 'string') return declared;
  if (req.ocr && declared.frames > req.policy.maxFrames)
    return `the image has more frames than the profile's ocr.maxFrames (${req.policy.maxFrames})`;
  // Tesseract aborts its worker, and with it the process, on a side over 32767 (issue 22).
  if (req.ocr && Math.max(declared.rows, declared.columns) > MAX_OCR_SIDE)
    return `the image has more than ${MAX_OCR_SIDE} rows or columns, more than OCR reads`;
  if (req.ocr && declared.rows * declared.columns > MAX_OCR_PIXELS)
    return `the image has more than ${MAX_OCR_PIXELS} pixels per frame (4096 x 4096), more than OCR reads`;
  const decodedMb = (frameBytes(declared) * declared.frames) / (1 << 20);
  if (decodedMb > req.policy.maxDecodedMb)
    return `the image would decode to ${Math.ceil(decodedMb)} MB, over the profile's ocr.maxDecodedMb (${req.policy.maxDecodedMb})`;
  const original = await decodeInstance(
    engines.codecs,
    req.file,
    req.encapsulated,
    req.policy.maxCompressionRatio,
  );
  if (typeof original === 'string') return original;
  const palette = original.photometric === 'PALETTE COLOR' ? paletteOf(req.file.dict) : undefined;
  const value = maskValueOf(original, palette, req.policy);
  if (typeof value === 'string') return value;
  const mask = emptyMask(original);
  const regions: MaskRegion[] = [];
  for (const [x, y, width, height] of req.rule?.rectangles ?? []) {
    const b = markBox(mask, original, { x, y, width, height });
    if (b) regions.push({ ...b, source: 'rectangle' });
  }
  const us = ultrasoundRegions(req.file.dict, original);
  if (us) {
    markOutside(mask, original, us);
    regions.push({ x: 0, y: 0, width: original.columns, height: original.rows, source: 'outside-regions' });
  }
  if (req.ocr) {
    const started = Date.now();
    for (let f = 0; f < original.frames; f++) {
      // A total per instance, not only per read: 100 frames of dense text at 12 s each held a
      // worker for 20 minutes while other studies waited.
      if (f > 0 && Date.now() - started > req.policy.maxSecondsPerInstance * 1000)
        return `reading the frames for text took longer than the profile's ocr.maxSecondsPerInstance (${req.policy.maxSecondsPerInstance} s); ${f} of ${original.frames} frames read`;
      const words = await engines.ocr.readFrame(original, f, mask, 'first', us ? 'plain' : 'all');
      const found = (await detectLines(engines, original, f, palette)).filter((l) =>
        tallLineConfirmed(l, words),
      );
      const crops = cropSourceOnce(engines, original, f);
      const seen = [...found, ...(await wordLines(engines, original, crops, found, words, req.tokens))];
      const lines = [...seen, ...(await lineEnds(engines, original, crops, seen))];
      const read = us ? [...words, ...(await readCloser(engines, original, crops, lines, words, us))] : words;
      for (const { box, score } of textToMask(lines, read, req.policy, req.tokens, us)) {
        // Detected lines carry the detector's own margin (its unclip distance); the profile's
        // padding adds to it (anti-aliased edges).
        const b = markBox(mask, original, box, req.policy.padding);
        if (b) regions.push({ ...b, source: 'text', frame: f, score });
      }
    }
  }
  const cleaned = applyMask(original, mask, value);
  return {
    file: withPixels(req.file, cleaned),
    original,
    cleaned,
    mask,
    value,
    maskRegions: regions,
    regions: regions.length,
    area: maskedArea(mask),
  };
}

/** Ends the decoder and OCR workers and the detector's session (each starts again on next use). */
export async function closeEngines(engines: PixelEngines): Promise<void> {
  await Promise.all([engines.codecs.close(), engines.ocr.close(), engines.detector.close()]);
}
