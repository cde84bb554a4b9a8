/**
 * Clean Pixel Data (PS3.15 E.3.1): decode the instance's pixels, blank the configured rectangles,
 * mask everything outside an ultrasound image's regions, find burned-in text with OCR and mask it
 * (all of it, or what identifies, per the profile), and give back the instance rewritten with the
 * masked pixels uncompressed (explicit VR little endian). The original decoded image and the mask
 * go with it, for the gate to prove the result (pipeline/pixels.ts).
 */
import type { DicomFile } from '../deid/dicom';
import type { OcrPolicy } from '../deid/profile';
import type { Dataset } from '../deid/types';
import { NATIVE_PIXEL_SYNTAXES, TRANSFER_SYNTAX } from '../dicom/syntaxes';
import { TAG } from '../dicom/tags';
import { str } from '../dicom/values';
import { Codecs, DECODABLE_SYNTAXES, LOSSY_SYNTAXES, decodeEncapsulated, decodeNative } from './codecs';
import { layoutOf, type DecodedImage } from './image';
import { applyMask, emptyMask, markBox, markOutside, maskedArea, ultrasoundRegions } from './mask';
import type { Box, OcrPool, Word } from './ocr';
import type { Reads } from './grey';
import type { BlankRule } from './regions';
import { identifyingWords } from './text';

/** The engines a clean needs, owned by the process state (they outlive one instance). */
export interface PixelEngines {
  readonly codecs: Codecs;
  readonly ocr: OcrPool;
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

export interface CleanedPixels {
  /** The instance with the masked pixels, native explicit VR little endian, BurnedInAnnotation NO. */
  readonly file: DicomFile;
  readonly original: DecodedImage;
  readonly cleaned: DecodedImage;
  readonly mask: Uint8Array;
  /** Masked regions: configured rectangles, the outside of ultrasound regions, text boxes. */
  readonly regions: number;
  /** Pixels masked (per frame position). */
  readonly area: number;
  /** The reads OCR took (ultrasound with regions: the plain image only; see grey.ts Reads). */
  readonly reads: Reads;
}

/** The decoded image of an instance, or why it cannot be decoded (a named reason, no value). */
export async function decodeInstance(
  codecs: Codecs,
  file: DicomFile,
  encapsulated?: Uint8Array,
): Promise<DecodedImage | string> {
  const syntax = str(file.meta[TAG.TransferSyntaxUID]);
  if (!DECODABLE_SYNTAXES.has(syntax))
    return `no decoder for transfer syntax ${syntax} (JPIP, video or deflated frames)`;
  const layout = layoutOf(file.dict);
  if (typeof layout === 'string') return layout;
  if (NATIVE_PIXEL_SYNTAXES.has(syntax)) {
    const value = file.dict[TAG.PixelData]?.Value;
    if (!value || value.length !== 1 || !(value[0] instanceof ArrayBuffer))
      return 'the native pixel data cannot be read';
    return decodeNative(new Uint8Array(value[0]), layout, syntax === TRANSFER_SYNTAX.ExplicitVRBigEndian);
  }
  if (!encapsulated) return 'the encapsulated pixel data cannot be located in the file';
  return decodeEncapsulated(codecs, syntax, encapsulated, layout);
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

function union(a: Box, b: Box): Box {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return {
    x,
    y,
    width: Math.max(a.x + a.width, b.x + b.width) - x,
    height: Math.max(a.y + a.height, b.y + b.height) - y,
  };
}

/**
 * The boxes of a frame's text that the policy masks. `mask-all-text`: the whole line of every word
 * with a letter or digit (a "word" without one is a line or a speck of the image). `mask-identifying`:
 * the identifying words, widened by half their height on each side (LSTM word boxes can stop short
 * of the last letters).
 */
/** Confidence (0-100) a word inside an ultrasound region needs to be masked as text under mask-all-text. */
const REGION_TEXT_CONFIDENCE = 70;

function inside(b: Box, regions: readonly Box[]): boolean {
  const cx = b.x + b.width / 2;
  const cy = b.y + b.height / 2;
  return regions.some((r) => cx >= r.x && cx < r.x + r.width && cy >= r.y && cy < r.y + r.height);
}

/**
 * Inside an ultrasound region the pixels are the image: speckle reads as strings of stray
 * letters. There a word is masked only when it identifies (a name, an ID, a date, a time, a long
 * number, alone or with its neighbours), or, under mask-all-text, when OCR is confident of it and it
 * has two letters or digits ("5 cm", a marker); its own box, not its line's. Outside the regions,
 * everything is masked already.
 */
function toMaskInRegions(words: readonly Word[], policy: OcrPolicy, tokens: ReadonlySet<string>): Box[] {
  const { indexes } = identifyingWords(words, tokens);
  return words
    .filter(
      (w, i) =>
        indexes.has(i) ||
        (policy.mode !== 'mask-identifying' &&
          w.confidence >= REGION_TEXT_CONFIDENCE &&
          (w.text.match(/[A-Za-z0-9]/g) ?? []).length >= 2),
    )
    .map((w) => {
      const grow = Math.ceil(w.box.height / 2);
      return { ...w.box, x: w.box.x - grow, width: w.box.width + 2 * grow };
    });
}

function toMask(
  words: readonly Word[],
  policy: OcrPolicy,
  tokens: ReadonlySet<string>,
  regions?: readonly Box[],
): Box[] {
  if (regions)
    return toMaskInRegions(
      words.filter((w) => inside(w.box, regions)),
      policy,
      tokens,
    );
  if (policy.mode !== 'mask-identifying') {
    // Each line's box, grown to hold its words' boxes (descenders can reach below the line's).
    const lines = new Map<number, Box>();
    for (const w of words)
      if (/[A-Za-z0-9]/.test(w.text)) lines.set(w.line, union(lines.get(w.line) ?? w.lineBox, w.box));
    // Widened by the line's height at each end: a line's box can stop a letter or two short of
    // its ends (turned text, a faint last glyph).
    return [...lines.values()].map((b) => ({ ...b, x: b.x - b.height, width: b.width + 2 * b.height }));
  }
  const { indexes } = identifyingWords(words, tokens);
  return words
    .filter((_, i) => indexes.has(i))
    .map((w) => {
      const grow = Math.ceil(w.box.height / 2);
      return { ...w.box, x: w.box.x - grow, width: w.box.width + 2 * grow };
    });
}

export async function cleanPixels(req: CleanRequest, engines: PixelEngines): Promise<CleanedPixels | string> {
  const original = await decodeInstance(engines.codecs, req.file, req.encapsulated);
  if (typeof original === 'string') return original;
  if (req.ocr && original.frames > req.policy.maxFrames)
    return `the image has more frames than the profile's ocr.maxFrames (${req.policy.maxFrames})`;
  const mask = emptyMask(original);
  let regions = 0;
  for (const [x, y, width, height] of req.rule?.rectangles ?? [])
    if (markBox(mask, original, { x, y, width, height })) regions++;
  const us = ultrasoundRegions(req.file.dict, original);
  if (us) {
    markOutside(mask, original, us);
    regions++;
  }
  if (req.ocr) {
    for (let f = 0; f < original.frames; f++) {
      const found = await engines.ocr.readFrame(original, f, mask, 'first', us ? 'plain' : 'all');
      for (const box of toMask(found, req.policy, req.tokens, us))
        if (markBox(mask, original, box, req.policy.padding + Math.ceil(box.height * 0.15))) regions++;
    }
  }
  const cleaned = applyMask(original, mask);
  return {
    file: withPixels(req.file, cleaned),
    original,
    cleaned,
    mask,
    regions,
    area: maskedArea(mask),
    reads: us ? 'plain' : 'all',
  };
}
