/**
 * Generated images with identity text burned in: a patient's name, ID and dates drawn at random
 * places and sizes (seeded) over a synthetic image, as 8-bit and 16-bit monochrome, RGB,
 * JPEG-compressed and RLE-compressed DICOM, light on dark or dark on light, and ultrasound with a
 * region. Fonts come from Debian's fonts-dejavu-core, drawn with @napi-rs/canvas (Skia).
 */
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import dcmjs from 'dcmjs';
import { existsSync } from 'node:fs';
import type { Dataset } from '../../src/deid/types';
import { TAG } from '../../src/dicom/tags';
import { SOP_CLASS } from '../../src/dicom/sopClasses';
import { TRANSFER_SYNTAX } from '../../src/dicom/syntaxes';

const FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf',
];
for (const f of FONT_FILES) if (existsSync(f)) GlobalFonts.registerFromPath(f);
const FONTS = ['DejaVu Sans', 'DejaVu Sans Mono'];

export type BurnedKind = 'mono8' | 'mono16' | 'rgb' | 'jpeg' | 'rle' | 'us';

export interface BurnedInImage {
  readonly bytes: Buffer;
  /** The strings drawn. */
  readonly planted: readonly string[];
  /** Pixels (row-major, rows x columns) that text ink covers: the planted string's number from 1, else 0. */
  readonly ink: Uint8Array;
  /** Pixels that differ from the background image (image content, for "kept elsewhere"). */
  readonly rows: number;
  readonly columns: number;
  /** For ultrasound: the region [x0, y0, x1, y1] inclusive. */
  readonly region?: readonly [number, number, number, number];
}

/** A small deterministic generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const IDENTITY = {
  name: 'QUILLFEATHER^MARGOT',
  id: '48213957',
  birthDate: '19610314',
  studyDate: '20240522',
};

/** The strings planted: the name as a viewer writes it, the ID, two dates in two common styles. */
export function plantedStrings(): string[] {
  return ['QUILLFEATHER, MARGOT', `ID ${IDENTITY.id}`, 'DOB 1961-03-14', '22/05/2024 14:32'];
}

function rleSegment(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes.length;) {
    let run = 1;
    while (i + run < bytes.length && run < 128 && bytes[i + run] === bytes[i]) run++;
    if (run > 1) {
      out.push(257 - run, bytes[i]!);
      i += run;
    } else {
      let lit = 1;
      while (i + lit < bytes.length && lit < 128 && bytes[i + lit] !== bytes[i + lit - 1]) lit++;
      out.push(lit - 1, ...bytes.subarray(i, i + lit));
      i += lit;
    }
  }
  if (out.length % 2) out.push(0x80); // no-op byte pads the segment to an even length
  return out;
}

/** RLE Lossless (PS3.5 Annex G) of one 8-bit monochrome frame. */
export function rleFrame(pixels: Uint8Array): Uint8Array {
  const seg = rleSegment(pixels);
  const out = new Uint8Array(64 + seg.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, 1, true);
  v.setUint32(4, 64, true);
  out.set(seg, 64);
  return out;
}

function encapsulate(frame: Uint8Array): ArrayBuffer {
  const padded = frame.length % 2 ? new Uint8Array([...frame, 0]) : frame;
  return padded.buffer.slice(padded.byteOffset, padded.byteOffset + padded.byteLength) as ArrayBuffer;
}

/** Harder text than the default: smaller, over the image, fainter, or turned. */
export interface TextStyle {
  /** Text height range in pixels (default 11-22). */
  readonly sizes?: readonly [number, number];
  /** Draw over the image content (the disc) instead of beside it. */
  readonly overImage?: boolean;
  /** Grey levels between text and ground (default: the full range). */
  readonly contrast?: number;
  /** Degrees each string is turned by (default 0). */
  readonly rotate?: number;
  /**
   * Ultrasound: the region the header declares. Default: the speckled field; `frame`: the whole
   * frame, so that the text beside the field lies inside a declared region (issue 22, row 6).
   */
  readonly declaredRegion?: 'field' | 'frame';
}

/**
 * One generated image. `lightText`: light text on a dark image (the usual screen capture), or
 * dark text on a light one.
 */
export async function burnedInImage(
  kind: BurnedKind,
  seed: number,
  lightText = seed % 2 === 0,
  style: TextStyle = {},
): Promise<BurnedInImage> {
  const random = rng(seed);
  const columns = kind === 'us' ? 640 : 512;
  const rows = kind === 'us' ? 480 : 512;
  const canvas = createCanvas(columns, rows);
  const g = canvas.getContext('2d');
  const bg = lightText ? 20 : 235;
  g.fillStyle = `rgb(${bg},${bg},${bg})`;
  g.fillRect(0, 0, columns, rows);
  // Image content: a soft disc and a gradient band, in mid greys (and colour for RGB).
  const region: [number, number, number, number] | undefined =
    kind === 'us' ? [120, 110, 519, 429] : undefined;
  g.fillStyle = kind === 'rgb' || kind === 'jpeg' ? 'rgb(150,90,60)' : 'rgb(128,128,128)';
  g.beginPath();
  g.arc(columns / 2, rows / 2 + 40, 110, 0, Math.PI * 2);
  g.fill();
  if (region) {
    // Ultrasound: speckle over the region, bright grains of 1-3 pixels on a darker field, as a
    // B-mode image looks; OCR must not take it for text.
    const field = g.getImageData(region[0], region[1], region[2] - region[0] + 1, region[3] - region[1] + 1);
    for (let p = 0; p < field.data.length; p += 4) {
      const v = Math.min(255, Math.floor(field.data[p]! * 0.6 + -Math.log(1 - random()) * 40));
      field.data[p] = field.data[p + 1] = field.data[p + 2] = v;
    }
    g.putImageData(field, region[0], region[1]);
  }
  const before = g.getImageData(0, 0, columns, rows).data.slice();
  // Text: each string once, at a random place clear of the others, 11-22 px high.
  const ink = new Uint8Array(rows * columns);
  const planted = plantedStrings();
  const taken: [number, number, number, number][] = [];
  const fg = lightText ? 250 : 5;
  for (const text of planted) {
    const [minSize, maxSize] = style.sizes ?? [11, 22];
    const size = minSize + Math.floor(random() * (maxSize - minSize + 1));
    g.font = `${size}px "${FONTS[Math.floor(random() * FONTS.length)]}"`;
    const width = Math.ceil(g.measureText(text).width);
    let x = 0;
    let y = 0;
    for (let attempt = 0; attempt < 200; attempt++) {
      x = 4 + Math.floor(random() * (columns - width - 8));
      y = size + 4 + Math.floor(random() * (rows - size - 12));
      const box: [number, number, number, number] = [x - 6, y - size - 6, x + width + 6, y + 8];
      const clear = taken.every((t) => box[2] < t[0] || box[0] > t[2] || box[3] < t[1] || box[1] > t[3]);
      // On ultrasound the annotations sit outside the region, as scanners draw them.
      const outside = !region || box[3] < region[1] || box[1] > region[3];
      // Keep clear of the disc: text over image content is a different test.
      const dx = Math.max(Math.abs(x + width / 2 - columns / 2) - width / 2, 0);
      const dy = Math.abs(y - size / 2 - (rows / 2 + 40));
      const offDisc = Math.hypot(dx, dy) > 130;
      if (clear && outside && (style.overImage ? !offDisc : offDisc)) {
        taken.push(box);
        break;
      }
    }
    const ground = style.overImage ? 128 : bg;
    const level =
      style.contrast === undefined
        ? fg
        : Math.max(0, Math.min(255, lightText ? ground + style.contrast : ground - style.contrast));
    g.fillStyle = `rgb(${level},${level},${level})`;
    if (style.rotate) {
      g.save();
      g.translate(x, y);
      g.rotate((style.rotate * Math.PI) / 180);
      g.fillText(text, 0, 0);
      g.restore();
    } else g.fillText(text, x, y);
    // Each string's ink, numbered from 1 in the order planted.
    const now = g.getImageData(0, 0, columns, rows).data;
    for (let p = 0; p < rows * columns; p++)
      if (!ink[p] && now[p * 4] !== before[p * 4]) ink[p] = planted.indexOf(text) + 1;
  }
  const after = g.getImageData(0, 0, columns, rows).data;

  const grey = new Uint8Array(rows * columns);
  for (let p = 0; p < grey.length; p++) grey[p] = after[p * 4]!;
  const sop = kind === 'us' ? SOP_CLASS.UltrasoundImageStorage : SOP_CLASS.SecondaryCaptureImageStorage;
  const base: Dataset = {
    [TAG.SOPClassUID]: { vr: 'UI', Value: [sop] },
    [TAG.SOPInstanceUID]: { vr: 'UI', Value: [`2.25.${1000 + seed}${kind.length}`] },
    [TAG.StudyDate]: { vr: 'DA', Value: [IDENTITY.studyDate] },
    [TAG.Modality]: { vr: 'CS', Value: [kind === 'us' ? 'US' : 'OT'] },
    [TAG.PatientName]: { vr: 'PN', Value: [{ Alphabetic: IDENTITY.name }] },
    [TAG.PatientID]: { vr: 'LO', Value: [IDENTITY.id] },
    [TAG.PatientBirthDate]: { vr: 'DA', Value: [IDENTITY.birthDate] },
    [TAG.StudyInstanceUID]: { vr: 'UI', Value: ['2.25.4242'] },
    [TAG.SeriesInstanceUID]: { vr: 'UI', Value: ['2.25.4243'] },
    [TAG.InstanceNumber]: { vr: 'IS', Value: ['1'] },
    [TAG.Rows]: { vr: 'US', Value: [rows] },
    [TAG.Columns]: { vr: 'US', Value: [columns] },
    [TAG.PixelRepresentation]: { vr: 'US', Value: [0] },
  };
  let syntax: string = TRANSFER_SYNTAX.ExplicitVRLittleEndian;
  let pixels: Dataset;
  if (kind === 'mono16') {
    const words = new Uint16Array(grey.length);
    for (let p = 0; p < grey.length; p++) words[p] = grey[p]! * 16; // 12 bits stored
    pixels = {
      [TAG.SamplesPerPixel]: { vr: 'US', Value: [1] },
      [TAG.PhotometricInterpretation]: { vr: 'CS', Value: ['MONOCHROME2'] },
      [TAG.BitsAllocated]: { vr: 'US', Value: [16] },
      [TAG.BitsStored]: { vr: 'US', Value: [12] },
      [TAG.HighBit]: { vr: 'US', Value: [11] },
      [TAG.PixelData]: { vr: 'OW', Value: [words.buffer] },
    };
  } else if (kind === 'rgb' || kind === 'jpeg') {
    const rgb = new Uint8Array(grey.length * 3);
    for (let p = 0; p < grey.length; p++)
      rgb.set([after[p * 4]!, after[p * 4 + 1]!, after[p * 4 + 2]!], p * 3);
    if (kind === 'jpeg') syntax = TRANSFER_SYNTAX.JPEGBaseline8Bit;
    pixels = {
      [TAG.SamplesPerPixel]: { vr: 'US', Value: [3] },
      [TAG.PhotometricInterpretation]: { vr: 'CS', Value: [kind === 'jpeg' ? 'YBR_FULL_422' : 'RGB'] },
      [TAG.PlanarConfiguration]: { vr: 'US', Value: [0] },
      [TAG.BitsAllocated]: { vr: 'US', Value: [8] },
      [TAG.BitsStored]: { vr: 'US', Value: [8] },
      [TAG.HighBit]: { vr: 'US', Value: [7] },
      [TAG.PixelData]: {
        vr: 'OB',
        Value: [kind === 'jpeg' ? encapsulate(new Uint8Array(await canvas.encode('jpeg', 92))) : rgb.buffer],
      },
    };
  } else {
    if (kind === 'rle') syntax = TRANSFER_SYNTAX.RLELossless;
    pixels = {
      [TAG.SamplesPerPixel]: { vr: 'US', Value: [1] },
      [TAG.PhotometricInterpretation]: { vr: 'CS', Value: ['MONOCHROME2'] },
      [TAG.BitsAllocated]: { vr: 'US', Value: [8] },
      [TAG.BitsStored]: { vr: 'US', Value: [8] },
      [TAG.HighBit]: { vr: 'US', Value: [7] },
      [TAG.PixelData]: { vr: 'OB', Value: [kind === 'rle' ? encapsulate(rleFrame(grey)) : grey.buffer] },
    };
  }
  const declared =
    region && style.declaredRegion === 'frame' ? ([0, 0, columns - 1, rows - 1] as const) : region;
  if (declared)
    base[TAG.SequenceOfUltrasoundRegions] = {
      vr: 'SQ',
      Value: [
        {
          [TAG.RegionSpatialFormat]: { vr: 'US', Value: [1] },
          [TAG.RegionDataType]: { vr: 'US', Value: [1] },
          [TAG.RegionLocationMinX0]: { vr: 'UL', Value: [declared[0]] },
          [TAG.RegionLocationMinY0]: { vr: 'UL', Value: [declared[1]] },
          [TAG.RegionLocationMaxX1]: { vr: 'UL', Value: [declared[2]] },
          [TAG.RegionLocationMaxY1]: { vr: 'UL', Value: [declared[3]] },
        },
      ],
    };
  const meta: Dataset = {
    [TAG.FileMetaInformationVersion]: { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    [TAG.MediaStorageSOPClassUID]: { vr: 'UI', Value: [sop] },
    [TAG.MediaStorageSOPInstanceUID]: { vr: 'UI', Value: [`2.25.${1000 + seed}${kind.length}`] },
    [TAG.TransferSyntaxUID]: { vr: 'UI', Value: [syntax] },
    [TAG.ImplementationClassUID]: { vr: 'UI', Value: ['2.25.1'] },
  };
  const dd = new dcmjs.data.DicomDict(meta);
  dd.dict = { ...base, ...pixels };
  const bytes = Buffer.from(dd.write({ fragmentMultiframe: false }));
  return { bytes, planted, ink, rows, columns, region: declared };
}
