/**
 * Burned-in text over REAL anatomy: frames of CT, MR, NM and ultrasound files from pydicom's test
 * corpus (Debian's python3-pydicom; nobody on this project made them) used as backgrounds, with a
 * patient's name, ID, birth date and a date-time drawn in the corners, on labels, or straight over
 * the image, light or dark, 7-22 px high, kept lossless or compressed to JPEG. Each image knows
 * where its ink is (every pixel the text touched) and the box of each string, so a test can prove
 * both halves of masking: the ink is gone, and the rest of the image is exactly as it was.
 */
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import dcmjs from 'dcmjs';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Dataset } from '../../src/deid/types';
import { decodeBytes } from '../../src/pipeline/pixels';
import { Codecs } from '../../src/pixels/codecs';
import { blackValue as maskedSample, type DecodedImage } from '../../src/pixels/image';
import { IDENTITY, plantedStrings, rng } from './burnedIn';
import { CORPORA } from './realWorld';
import { TAG } from '../../src/dicom/tags';
import { SOP_CLASS } from '../../src/dicom/sopClasses';
import { TRANSFER_SYNTAX } from '../../src/dicom/syntaxes';

for (const f of [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf',
])
  if (existsSync(f)) GlobalFonts.registerFromPath(f);
const FONTS = ['DejaVu Sans', 'DejaVu Sans Mono'];

/** A real frame to draw on: its file in pydicom's corpus and how it is enlarged (nearest is never used). */
export interface Background {
  readonly name: string;
  readonly file: string;
  /** Whole-number enlargement (bilinear) for the small files, so 7-22 px text fits as on a screen. */
  readonly scale: number;
  readonly kind: 'CT' | 'MR' | 'NM' | 'US';
}

export const BACKGROUNDS: readonly Background[] = [
  { name: 'CT head (JPEG 2000, 512x512)', file: '693_J2KI.dcm', scale: 1, kind: 'CT' },
  { name: 'CT head (JPEG 2000, 512x512, second)', file: 'J2K_pixelrep_mismatch.dcm', scale: 1, kind: 'CT' },
  { name: 'CT spine (128x128, enlarged 4x)', file: 'CT_small.dcm', scale: 4, kind: 'CT' },
  { name: 'MR head (64x64, enlarged 8x)', file: 'MR_small.dcm', scale: 8, kind: 'MR' },
  { name: 'NM (1024x256)', file: 'JPEG2000.dcm', scale: 1, kind: 'NM' },
  { name: 'ultrasound (RGB 80x60, enlarged 8x)', file: 'ExplVR_BigEnd.dcm', scale: 8, kind: 'US' },
];

export type Placement = 'corners' | 'labels' | 'over';

export interface AnatomyVariant {
  readonly background: Background;
  readonly placement: Placement;
  readonly lightText: boolean;
  readonly sizes: readonly [number, number];
  readonly jpeg: boolean;
  readonly seed: number;
}

export interface AnatomyImage {
  readonly bytes: Buffer;
  readonly rows: number;
  readonly columns: number;
  /**
   * Text coverage of each pixel (0-255, anti-aliased): ink is a pixel the text covers by a quarter
   * or more (INK_COVERAGE); lighter pixels are the glyphs' fringe.
   */
  readonly ink: Uint8Array;
  /**
   * 1 where ink stands out: coverage of a quarter or more, changing the pixel by at least an
   * eighth of the frame's range. Text drawn over ground of almost its own level (white on bone,
   * black on air) is ink but not visible ink.
   */
  readonly visible: Uint8Array;
  /**
   * 1 inside each planted string's own box, grown by a margin that masking may take (padding and
   * the anti-aliased edge): pixels outside it must be kept exactly.
   */
  readonly textArea: Uint8Array;
  /**
   * The same image without its text (labels drawn, no strings), encoded the same way: where its
   * decoding differs from the image's, the text left a trace in the stored pixels (keptAndRemoved).
   */
  readonly plain: Buffer;
  readonly label: string;
}

const codecs = new Codecs();

/** The background's first frame, as the bridge decodes it, enlarged; grey (or RGB for ultrasound). */
async function backgroundFrame(b: Background): Promise<DecodedImage> {
  const bytes = readFileSync(path.join(CORPORA.pydicom!, b.file));
  const img = await decodeBytes(codecs, bytes);
  if (typeof img === 'string') throw new Error(`${b.file}: ${img}`);
  const bps = img.bitsAllocated / 8;
  const spp = img.samples;
  const rows = img.rows * b.scale;
  const columns = img.columns * b.scale;
  const at = (r: number, c: number, s: number): number => {
    const i = ((r * img.columns + c) * spp + s) * bps;
    if (bps === 1) return img.data[i]!;
    const v = img.data[i]! | (img.data[i + 1]! << 8);
    return img.signed ? (v << 16) >> 16 : v;
  };
  const out = new Int32Array(rows * columns * spp);
  for (let y = 0; y < rows; y++) {
    const fy = Math.max(0, (y + 0.5) / b.scale - 0.5);
    const y0 = Math.min(img.rows - 1, Math.floor(fy));
    const y1 = Math.min(img.rows - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < columns; x++) {
      const fx = Math.max(0, (x + 0.5) / b.scale - 0.5);
      const x0 = Math.min(img.columns - 1, Math.floor(fx));
      const x1 = Math.min(img.columns - 1, x0 + 1);
      const wx = fx - x0;
      for (let s = 0; s < spp; s++) {
        const top = at(y0, x0, s) * (1 - wx) + at(y0, x1, s) * wx;
        const bottom = at(y1, x0, s) * (1 - wx) + at(y1, x1, s) * wx;
        out[(y * columns + x) * spp + s] = Math.round(top * (1 - wy) + bottom * wy);
      }
    }
  }
  const data = new Uint8Array(out.length * bps);
  for (let i = 0; i < out.length; i++) {
    if (bps === 1) data[i] = out[i]!;
    else {
      data[i * 2] = out[i]! & 0xff;
      data[i * 2 + 1] = (out[i]! >> 8) & 0xff;
    }
  }
  return { ...img, rows, columns, frames: 1, data };
}

/** Every variant the benchmark and the test draw from: each background x placement x polarity x codec. */
export function anatomyVariants(seeds = 1): AnatomyVariant[] {
  const out: AnatomyVariant[] = [];
  let seed = 1;
  for (let s = 0; s < seeds; s++)
    for (const background of BACKGROUNDS)
      for (const placement of ['corners', 'labels', 'over'] as const)
        for (const lightText of [true, false])
          for (const jpeg of [false, true]) {
            const sizes: [number, number] = seed % 3 === 0 ? [7, 10] : seed % 3 === 1 ? [11, 16] : [15, 22];
            out.push({ background, placement, lightText, jpeg, sizes, seed: seed++ });
          }
  return out;
}

interface Drawn {
  readonly alpha: Uint8Array;
  readonly boxes: Array<[number, number, number, number]>;
  readonly labels: Array<[number, number, number, number]>;
}

/** The strings' coverage (0-255) on a blank canvas, their boxes, and label boxes under them. */
function drawText(rows: number, columns: number, v: AnatomyVariant): Drawn {
  const random = rng(v.seed * 7919);
  const canvas = createCanvas(columns, rows);
  const g = canvas.getContext('2d');
  g.fillStyle = '#000';
  g.fillRect(0, 0, columns, rows);
  g.fillStyle = '#fff';
  const boxes: Array<[number, number, number, number]> = [];
  const labels: Array<[number, number, number, number]> = [];
  const strings = plantedStrings();
  strings.forEach((text, i) => {
    const [lo, hi] = v.sizes;
    const size = lo + Math.floor(random() * (hi - lo + 1));
    g.font = `${size}px "${FONTS[Math.floor(random() * FONTS.length)]}"`;
    const m = g.measureText(text);
    const width = Math.ceil(m.width);
    const ascent = Math.ceil(m.actualBoundingBoxAscent);
    const descent = Math.ceil(m.actualBoundingBoxDescent);
    let x: number;
    let y: number;
    if (v.placement === 'corners') {
      // Name and ID top left, birth date top right, date-time bottom right: as viewers annotate.
      const right = i === 2 || i === 3;
      const bottom = i === 3;
      x = right ? columns - width - 4 : 4;
      y = bottom ? rows - 4 - descent : 4 + ascent + (i === 1 ? size + 4 : 0);
    } else {
      // Labels and text over the image: anywhere in the middle two thirds, clear of each other.
      x = 0;
      y = 0;
      for (let attempt = 0; attempt < 200; attempt++) {
        x = Math.floor(columns / 6 + random() * Math.max(1, (columns * 2) / 3 - width));
        y = Math.floor(rows / 6 + ascent + random() * Math.max(1, (rows * 2) / 3 - ascent - descent));
        const b: [number, number, number, number] = [x - 8, y - ascent - 8, x + width + 8, y + descent + 8];
        if (boxes.every((t) => b[2] < t[0] - 8 || b[0] > t[2] + 8 || b[3] < t[1] - 8 || b[1] > t[3] + 8))
          break;
      }
    }
    x = Math.max(0, Math.min(columns - width, x));
    boxes.push([x, y - ascent, x + width, y + descent]);
    if (v.placement === 'labels') labels.push([x - 3, y - ascent - 3, x + width + 3, y + descent + 3]);
    g.fillText(text, x, y);
  });
  const rgba = g.getImageData(0, 0, columns, rows).data;
  const alpha = new Uint8Array(rows * columns);
  for (let p = 0; p < alpha.length; p++) alpha[p] = rgba[p * 4]!;
  return { alpha, boxes, labels };
}

function dataset(v: AnatomyVariant, rows: number, columns: number, pixels: Dataset, syntax: string): Buffer {
  const us = v.background.kind === 'US';
  const sop = us ? SOP_CLASS.UltrasoundImageStorage : SOP_CLASS.SecondaryCaptureImageStorage;
  const uid = `2.25.77${v.seed}${v.jpeg ? 1 : 0}`;
  const meta: Dataset = {
    [TAG.FileMetaInformationVersion]: { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    [TAG.MediaStorageSOPClassUID]: { vr: 'UI', Value: [sop] },
    [TAG.MediaStorageSOPInstanceUID]: { vr: 'UI', Value: [uid] },
    [TAG.TransferSyntaxUID]: { vr: 'UI', Value: [syntax] },
    [TAG.ImplementationClassUID]: { vr: 'UI', Value: ['2.25.1'] },
  };
  const dd = new dcmjs.data.DicomDict(meta);
  dd.dict = {
    [TAG.SOPClassUID]: { vr: 'UI', Value: [sop] },
    [TAG.SOPInstanceUID]: { vr: 'UI', Value: [uid] },
    [TAG.StudyDate]: { vr: 'DA', Value: [IDENTITY.studyDate] },
    [TAG.Modality]: { vr: 'CS', Value: [us ? 'US' : 'OT'] },
    [TAG.PatientName]: { vr: 'PN', Value: [{ Alphabetic: IDENTITY.name }] },
    [TAG.PatientID]: { vr: 'LO', Value: [IDENTITY.id] },
    [TAG.PatientBirthDate]: { vr: 'DA', Value: [IDENTITY.birthDate] },
    [TAG.StudyInstanceUID]: { vr: 'UI', Value: ['2.25.5151'] },
    [TAG.SeriesInstanceUID]: { vr: 'UI', Value: [`2.25.5152${v.background.kind.length}`] },
    [TAG.InstanceNumber]: { vr: 'IS', Value: [String(v.seed)] },
    [TAG.Rows]: { vr: 'US', Value: [rows] },
    [TAG.Columns]: { vr: 'US', Value: [columns] },
    ...pixels,
  };
  return Buffer.from(dd.write({ fragmentMultiframe: false }));
}

/** Grey level of a sample for an 8-bit rendering: the frame's 1st..99.5th percentile (as a viewer's window). */
function windowOf(values: ArrayLike<number>): [number, number] {
  const sorted = Float64Array.from(values).sort();
  const lo = sorted[Math.floor(sorted.length * 0.01)]!;
  const hi = sorted[Math.floor(sorted.length * 0.995)]!;
  return [lo, hi > lo ? hi : lo + 1];
}

/** What the benchmark and the tests call a variant: background, placement, polarity, size, codec. */
export function labelOf(v: AnatomyVariant): string {
  return `${v.background.name}, ${v.placement}, ${v.lightText ? 'light' : 'dark'} ${v.sizes[0]}-${v.sizes[1]} px, ${v.jpeg ? 'JPEG' : 'lossless'}`;
}

/** One image: real anatomy, identity text planted as the variant says. */
export async function anatomyImage(v: AnatomyVariant): Promise<AnatomyImage> {
  const frame = await backgroundFrame(v.background);
  const { rows, columns, samples } = frame;
  const drawn = drawText(rows, columns, v);
  const pixels = rows * columns;
  const bps = frame.bitsAllocated / 8;
  const read = (i: number): number => {
    if (bps === 1) return frame.data[i]!;
    const x = frame.data[i * 2]! | (frame.data[i * 2 + 1]! << 8);
    return frame.signed ? (x << 16) >> 16 : x;
  };
  // Grey values (one per pixel, or three for colour), at the file's own depth unless JPEG.
  let values = Float64Array.from({ length: pixels * samples }, (_, i) => read(i));
  let depth16 = bps === 2;
  if (v.jpeg) {
    const [lo, hi] = windowOf(values);
    values = values.map((x) => Math.max(0, Math.min(255, Math.round(((x - lo) * 255) / (hi - lo)))));
    depth16 = false;
  }
  let min = Infinity;
  let max = -Infinity;
  for (const x of values) {
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const fg = v.lightText ? max : min;
  const labelLevel = v.lightText ? min : max;
  for (const [x0, y0, x1, y1] of drawn.labels)
    for (let y = Math.max(0, y0); y < Math.min(rows, y1); y++)
      for (let x = Math.max(0, x0); x < Math.min(columns, x1); x++)
        for (let s = 0; s < samples; s++) values[(y * columns + x) * samples + s] = labelLevel;
  const plainValues = Float64Array.from(values);
  const ink = drawn.alpha;
  const visible = new Uint8Array(pixels);
  for (let p = 0; p < pixels; p++) {
    const a = drawn.alpha[p]! / 255;
    if (a === 0) continue;
    let change = 0;
    for (let s = 0; s < samples; s++) {
      const i = p * samples + s;
      const was = values[i]!;
      values[i] = Math.round(was * (1 - a) + fg * a);
      change = Math.max(change, Math.abs(values[i]! - was));
    }
    // Ink that stands out from what it was drawn over by an eighth of the frame's range or more.
    if (drawn.alpha[p]! >= INK_COVERAGE && change >= (max - min) / 8) visible[p] = 1;
  }
  const textArea = new Uint8Array(pixels);
  for (const [x0, y0, x1, y1] of drawn.boxes) {
    const margin = 3 + Math.ceil((y1 - y0) * 0.35);
    for (let y = Math.max(0, y0 - margin); y < Math.min(rows, y1 + margin); y++)
      textArea.fill(1, y * columns + Math.max(0, x0 - margin), y * columns + Math.min(columns, x1 + margin));
  }
  const photometric = samples === 3 ? 'RGB' : frame.photometric;
  const common: Dataset = {
    [TAG.SamplesPerPixel]: { vr: 'US', Value: [samples] },
    [TAG.PixelRepresentation]: { vr: 'US', Value: [depth16 && frame.signed ? 1 : 0] },
    ...(samples === 3 ? { [TAG.PlanarConfiguration]: { vr: 'US', Value: [0] } } : {}),
  };
  const label = labelOf(v);
  const encode = async (values: Float64Array): Promise<Buffer> => {
    if (v.jpeg) {
      const canvas = createCanvas(columns, rows);
      const g = canvas.getContext('2d');
      const id = g.createImageData(columns, rows);
      for (let p = 0; p < pixels; p++)
        for (let c = 0; c < 3; c++) id.data[p * 4 + c] = values[samples === 3 ? p * 3 + c : p]!;
      for (let p = 0; p < pixels; p++) id.data[p * 4 + 3] = 255;
      g.putImageData(id, 0, 0);
      const jpeg = new Uint8Array(await canvas.encode('jpeg', 90));
      const even = jpeg.length % 2 ? new Uint8Array([...jpeg, 0]) : jpeg;
      return dataset(
        v,
        rows,
        columns,
        {
          ...common,
          [TAG.SamplesPerPixel]: { vr: 'US', Value: [3] },
          [TAG.PlanarConfiguration]: { vr: 'US', Value: [0] },
          [TAG.PhotometricInterpretation]: { vr: 'CS', Value: ['YBR_FULL_422'] },
          [TAG.BitsAllocated]: { vr: 'US', Value: [8] },
          [TAG.BitsStored]: { vr: 'US', Value: [8] },
          [TAG.HighBit]: { vr: 'US', Value: [7] },
          [TAG.PixelData]: { vr: 'OB', Value: [even.buffer] },
        },
        TRANSFER_SYNTAX.JPEGBaseline8Bit,
      );
    }
    const out = new Uint8Array(values.length * (depth16 ? 2 : 1));
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!;
      if (depth16) {
        out[i * 2] = x & 0xff;
        out[i * 2 + 1] = (x >> 8) & 0xff;
      } else out[i] = x;
    }
    return dataset(
      v,
      rows,
      columns,
      {
        ...common,
        [TAG.PhotometricInterpretation]: { vr: 'CS', Value: [photometric] },
        [TAG.BitsAllocated]: { vr: 'US', Value: [depth16 ? 16 : 8] },
        [TAG.BitsStored]: { vr: 'US', Value: [depth16 ? frame.bitsStored : 8] },
        [TAG.HighBit]: { vr: 'US', Value: [depth16 ? frame.bitsStored - 1 : 7] },
        [TAG.PixelData]: { vr: depth16 ? 'OW' : 'OB', Value: [out.buffer] },
      },
      TRANSFER_SYNTAX.ExplicitVRLittleEndian,
    );
  };
  const [bytes, plain] = await Promise.all([encode(values), encode(plainValues)]);
  return { bytes, rows, columns, ink, visible, textArea, plain, label };
}

/**
 * What masking did to one image, per pixel: ink pixels left unmasked, fringe pixels (coverage under
 * a quarter) left unmasked, and the share of pixels outside the planted text that are exactly the
 * original's. `before` and `after` are the bridge's
 * decodings of the original and of the research copy.
 */
/** Coverage (of 255) from which a pixel counts as ink: a quarter of the pixel or more. */
export const INK_COVERAGE = 64;

/**
 * The bridge's decoding of the image without its text, and the mask boxes the bridge reported
 * ([frame, x, y, width, height]): with them, keptAndRemoved also counts traced ink.
 */
export interface TraceOf {
  readonly plain: DecodedImage;
  /**
   * Without them (a copy read back from a server), a traced pixel is left when it holds its
   * original value and that is not the masked value: exact for light text, which masking turns dark.
   */
  readonly boxes?: ReadonlyArray<readonly [number, number, number, number, number]>;
}

export function keptAndRemoved(
  img: AnatomyImage,
  before: DecodedImage,
  after: DecodedImage,
  trace?: TraceOf,
): {
  inkPixels: number;
  inkLeft: number;
  /**
   * Ink the stored image holds: ink pixels whose decoding differs from the image's without the
   * text (text drawn at 0 over a ground already at 0 holds none; a JPEG can lose a stroke or add
   * one's ringing). Left: not inside a reported mask box holding the masked value, which an
   * unmasked glyph pixel at that value among a lighter ground is not.
   */
  tracedPixels: number;
  tracedLeft: number;
  /** The most that a traced ink pixel left differs from the image without the text (one sample, 0 if none left). */
  tracedLeftChange: number;
  visiblePixels: number;
  visibleLeft: number;
  fringePixels: number;
  fringeLeft: number;
  outside: number;
  kept: number;
} {
  const bpp = before.samples * (before.bitsAllocated / 8);
  const same = (p: number): boolean => {
    for (let b = 0; b < bpp; b++) if (before.data[p * bpp + b] !== after.data[p * bpp + b]) return false;
    return true;
  };
  // A masked pixel holds the masked value; an ink pixel whose original value already was that
  // value cannot be told from a masked one, and shows nothing against a masked ground.
  const black = maskedSample(before);
  const isBlack = (p: number): boolean => {
    const b = before.bitsAllocated / 8;
    for (let s = 0; s < before.samples; s++) {
      const i = (p * before.samples + s) * b;
      const v = b === 1 ? after.data[i]! : after.data[i]! | (after.data[i + 1]! << 8);
      if (v !== (b === 1 ? black & 0xff : black & 0xffff)) return false;
    }
    return true;
  };
  const inBox = new Uint8Array(img.rows * img.columns);
  for (const [frame, x, y, w, h] of trace?.boxes ?? [])
    if (frame <= 0)
      for (let r = Math.max(0, y); r < Math.min(img.rows, y + h); r++)
        inBox.fill(1, r * img.columns + Math.max(0, x), r * img.columns + Math.min(img.columns, x + w));
  // How far the text moved a pixel from the image without it: the largest change of one sample.
  const change = (p: number): number => {
    const plain = trace!.plain.data;
    const b = before.bitsAllocated / 8;
    let most = 0;
    for (let s = 0; s < before.samples; s++) {
      const i = (p * before.samples + s) * b;
      const read = (d: Uint8Array): number => {
        if (b === 1) return d[i]!;
        const v = d[i]! | (d[i + 1]! << 8);
        return before.signed ? (v << 16) >> 16 : v;
      };
      const was = read(plain);
      const is = read(before.data);
      most = Math.max(most, Math.abs(is - was));
    }
    return most;
  };
  let inkPixels = 0;
  let inkLeft = 0;
  let tracedPixels = 0;
  let tracedLeft = 0;
  let tracedLeftChange = 0;
  let visiblePixels = 0;
  let visibleLeft = 0;
  let fringePixels = 0;
  let fringeLeft = 0;
  let outside = 0;
  let kept = 0;
  for (let p = 0; p < img.rows * img.columns; p++) {
    // Unmasked ink is ink the output still holds as the original did.
    if (img.ink[p]! >= INK_COVERAGE) {
      inkPixels++;
      const left = same(p) && !isBlack(p);
      if (left) inkLeft++;
      const moved = trace ? change(p) : 0;
      if (moved > 0) {
        tracedPixels++;
        if (trace?.boxes ? !(inBox[p] && isBlack(p)) : same(p) && !isBlack(p)) {
          tracedLeft++;
          tracedLeftChange = Math.max(tracedLeftChange, moved);
        }
      }
      if (img.visible[p]) {
        visiblePixels++;
        if (left) visibleLeft++;
      }
    } else if (img.ink[p]! > 0) {
      fringePixels++;
      if (same(p) && !isBlack(p)) fringeLeft++;
    }
    if (!img.textArea[p]) {
      outside++;
      if (same(p)) kept++;
    }
  }
  return {
    inkPixels,
    inkLeft,
    tracedPixels,
    tracedLeft,
    tracedLeftChange,
    visiblePixels,
    visibleLeft,
    fringePixels,
    fringeLeft,
    outside,
    kept,
  };
}
