/**
 * Decoding compressed pixel data to a DecodedImage, in process, with the maintained WebAssembly
 * builds of libjpeg-turbo (JPEG baseline), CharLS (JPEG-LS) and OpenJPEG (JPEG 2000) from npm, the
 * JavaScript JPEG lossless decoder Cornerstone uses (processes 14 and 14 SV1), and RLE by hand
 * (rle.ts). WebAssembly runs in its own bounded memory: a hostile codestream ends in an error, never
 * in the bridge's process. Before any decoder runs, the frame's own header (JPEG SOF, JPEG 2000 SIZ)
 * must declare exactly the Rows, Columns and samples of the DICOM header, so a codestream cannot
 * make a decoder allocate more than the image the budget reserved.
 *
 * Not decoded: JPEG extended 12-bit (.51 with 12-bit samples; libjpeg-turbo's npm build is 8-bit
 * only), JPIP, MPEG and HEVC video, deflated image frames. Those instances get a named reason.
 */
import { TRANSFER_SYNTAX } from '../dicom/syntaxes';
import type { FrameInfo, RenderedView, ViewJob } from './decodeWorker';
import { DecoderPool, type DecoderPoolOptions } from './decoderPool';
import { framesOf } from './encapsulated';
import {
  expand422,
  frameBytes,
  interleave,
  ybrFullToRgb,
  type DecodedImage,
  type ImageLayout,
} from './image';
import { decodeRle } from './rle';

const T = TRANSFER_SYNTAX;

/** Transfer syntaxes whose pixel data the bridge can decode (native ones are read as they are). */
export const DECODABLE_SYNTAXES: ReadonlySet<string> = new Set([
  T.ImplicitVRLittleEndian,
  T.ExplicitVRLittleEndian,
  T.ExplicitVRBigEndian,
  T.DeflatedExplicitVRLittleEndian,
  T.JPEGBaseline8Bit,
  T.JPEGExtended12Bit,
  T.JPEGLossless,
  T.JPEGLosslessSV1,
  T.JPEGLSLossless,
  T.JPEGLSNearLossless,
  T.JPEG2000Lossless,
  T.JPEG2000,
  T.RLELossless,
]);

/** Syntaxes whose compression loses information (LossyImageCompression must say 01). */
export const LOSSY_SYNTAXES: ReadonlySet<string> = new Set([
  T.JPEGBaseline8Bit,
  T.JPEGExtended12Bit,
  T.JPEGLSNearLossless,
  T.JPEG2000,
]);

/**
 * The frame decoders, in a pool of worker threads (decoderPool.ts) made on first use and kept by
 * the owner (the process state): instantiation costs milliseconds, a small frame's decode less.
 */
export class Codecs {
  private readonly pool: DecoderPool;
  constructor(opts: DecoderPoolOptions = { workers: 1, frameTimeoutMs: FRAME_TIMEOUT_MS }) {
    this.pool = new DecoderPool(opts);
  }

  /** Workers ended and replaced so far (overran, stopped, failed or grew). */
  get replaced(): number {
    return this.pool.replaced;
  }

  async wasm(
    pkg: string,
    cls: string,
    frame: Uint8Array,
    check: (info: FrameInfo) => string | undefined,
  ): Promise<Uint8Array | string> {
    const a = await this.pool.run({ kind: 'wasm', pkg, cls, frame });
    if (typeof a === 'string') return a;
    const refused = a.info && check(a.info);
    return refused || a.data;
  }

  async lossless(frame: Uint8Array, bytesPerSample: number): Promise<Uint8Array | string> {
    const a = await this.pool.run({ kind: 'lossless', frame, bytesPerSample });
    return typeof a === 'string' ? a : a.data;
  }

  /**
   * Views of frame `f` rendered in a worker (decodeWorker.ts renderViews): only that frame's bytes
   * (and the mask) are copied there. A view that takes longer than the frame limit, or fails,
   * answers with the reason.
   */
  async views(
    img: DecodedImage,
    f: number,
    what: ViewJob['what'],
    opts: Pick<ViewJob, 'mask' | 'look' | 'reads' | 'palette'> = {},
  ): Promise<readonly RenderedView[] | string> {
    const size = frameBytes(img);
    const { data, ...layout } = img;
    const a = await this.pool.run({
      kind: 'views',
      what,
      frame: data.subarray(f * size, (f + 1) * size),
      layout: { ...layout, frames: 1 },
      ...opts,
    });
    return typeof a === 'string' ? a : (a.views ?? []);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** The longest one frame may take to decode before its worker is ended. */
export const FRAME_TIMEOUT_MS = 10_000;

/**
 * Width, height, precision and components a JPEG or JPEG-LS codestream's start-of-frame declares
 * (SOF0-SOF15, SOF55), read before a decoder allocates anything.
 */
export function jpegFrameHeader(frame: Uint8Array): FrameInfo | undefined {
  let at = 2;
  if (frame[0] !== 0xff || frame[1] !== 0xd8) return undefined;
  while (at + 4 <= frame.length) {
    if (frame[at] !== 0xff) return undefined;
    const marker = frame[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    const length = (frame[at + 2]! << 8) | frame[at + 3]!;
    const isSof =
      (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) ||
      marker === 0xf7;
    if (isSof) {
      if (at + 10 > frame.length) return undefined;
      return {
        bitsPerSample: frame[at + 4]!,
        height: (frame[at + 5]! << 8) | frame[at + 6]!,
        width: (frame[at + 7]! << 8) | frame[at + 8]!,
        componentCount: frame[at + 9]!,
      };
    }
    if (marker === 0xda || length < 2) return undefined;
    at += 2 + length;
  }
  return undefined;
}

/** A JP2 file's signature box (PS3.5 8.2.4 allows a JP2 file where a codestream is expected). */
const JP2_SIGNATURE = [0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20];

/**
 * Where a JPEG 2000 codestream starts: at 0 when bare (SOC then SIZ), or at the contents of a JP2
 * file's contiguous codestream box (`jp2c`), found by walking the boxes from the file's start.
 * Never a search: a JP2 `xml ` box can hold a decoy SIZ declaring a small image (issue 22).
 */
function codestreamStart(frame: Uint8Array): number | undefined {
  const soc = (at: number): boolean =>
    frame[at] === 0xff && frame[at + 1] === 0x4f && frame[at + 2] === 0xff && frame[at + 3] === 0x51;
  if (soc(0)) return 0;
  if (!JP2_SIGNATURE.every((b, i) => frame[i] === b)) return undefined;
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let at = 0;
  for (let boxes = 0; boxes < 64 && at + 8 <= frame.length; boxes++) {
    let length = v.getUint32(at);
    const type = String.fromCharCode(...frame.subarray(at + 4, at + 8));
    let header = 8;
    if (length === 1) {
      if (at + 16 > frame.length || v.getUint32(at + 8) !== 0) return undefined;
      length = v.getUint32(at + 12);
      header = 16;
    } else if (length === 0) length = frame.length - at;
    if (length < header) return undefined;
    if (type === 'jp2c') return soc(at + header) ? at + header : undefined;
    at += length;
  }
  return undefined;
}

/** The image size and components of a JPEG 2000 codestream's SIZ marker, bare or in a JP2 file. */
export function j2kFrameHeader(frame: Uint8Array): FrameInfo | undefined {
  const start = codestreamStart(frame);
  if (start === undefined) return undefined;
  const at = start + 4;
  if (at + 40 > frame.length) return undefined;
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  // Lsiz(2) Rsiz(2) Xsiz(4) Ysiz(4) XOsiz(4) YOsiz(4) XTsiz YTsiz XTOsiz YTOsiz (4 each) Csiz(2) Ssiz...
  const width = v.getUint32(at + 4) - v.getUint32(at + 12);
  const height = v.getUint32(at + 8) - v.getUint32(at + 16);
  const componentCount = v.getUint16(at + 36);
  return { width, height, componentCount, bitsPerSample: (frame[at + 38]! & 0x7f) + 1 };
}

/** Most scans a JPEG or JPEG-LS frame may have: real frames have 1 to 3 (issue 22: 20,000 scans blocked 76 s). */
export const MAX_JPEG_SCANS = 64;

/** Padding a frame may carry after its end marker: fragments have even lengths (PS3.5 A.4), some encoders pad with FF. */
const MAX_TRAILING_PAD = 16;

/**
 * Refusals of a compressed frame read from its bytes alone, before a decoder sees it: no end
 * marker (EOI / EOC, FFD9; a truncated JPEG-LS frame took 9-21 s to fail), more scans than
 * MAX_JPEG_SCANS, or more decoded bytes per coded byte than `maxRatio` (a 592-byte JPEG-LS frame
 * declared 32 MiB).
 */
export function codestreamRefusal(
  syntax: string,
  frame: Uint8Array,
  decodedBytes: number,
  maxRatio: number,
): string | undefined {
  if (syntax === T.RLELossless) return undefined;
  let end = frame.length;
  while (
    end > 2 &&
    frame.length - end < MAX_TRAILING_PAD &&
    (frame[end - 1] === 0 || frame[end - 1] === 0xff)
  )
    end--;
  if (end < 2 || frame[end - 2] !== 0xff || frame[end - 1] !== 0xd9)
    return 'a compressed frame has no end-of-image marker (truncated)';
  if (decodedBytes > frame.length * maxRatio)
    return `a compressed frame would decode to more than ${maxRatio} times its size (the profile's ocr.maxCompressionRatio)`;
  if (syntax !== T.JPEG2000 && syntax !== T.JPEG2000Lossless) {
    // Entropy-coded bytes never hold FF DA (JPEG stuffs FF 00, JPEG-LS a zero bit): each is a scan.
    let scans = 0;
    for (let i = frame.indexOf(0xff); i >= 0 && i + 1 < end; i = frame.indexOf(0xff, i + 1))
      if (frame[i + 1] === 0xda && ++scans > MAX_JPEG_SCANS)
        return `a JPEG frame has more than ${MAX_JPEG_SCANS} scans`;
  }
  return undefined;
}

function matches(info: FrameInfo, l: ImageLayout): string | undefined {
  if (info.width !== l.columns || info.height !== l.rows)
    return 'a compressed frame declares a size other than Rows x Columns';
  if (info.componentCount !== l.samples)
    return 'a compressed frame declares other components than SamplesPerPixel';
  if (info.bitsPerSample > l.bitsAllocated) return 'a compressed frame declares more bits than BitsAllocated';
  return undefined;
}

async function decodeFrame(
  codecs: Codecs,
  syntax: string,
  frame: Uint8Array,
  l: ImageLayout,
): Promise<Uint8Array | string> {
  const bytesPerSample = l.bitsAllocated / 8;
  const pixels = l.rows * l.columns;
  switch (syntax) {
    case T.RLELossless: {
      return decodeRle(frame, pixels, l.samples, bytesPerSample);
    }
    case T.JPEGBaseline8Bit:
    case T.JPEGExtended12Bit: {
      const header = jpegFrameHeader(frame);
      if (!header) return 'a JPEG frame has no readable start-of-frame header';
      if (header.bitsPerSample !== 8)
        return 'JPEG with 12-bit samples: no 12-bit JPEG codec is available to the bridge';
      const refused = matches(header, l);
      if (refused) return refused;
      return codecs.wasm('@cornerstonejs/codec-libjpeg-turbo-8bit', 'JPEGDecoder', frame, (i) =>
        matches(i, l),
      );
    }
    case T.JPEGLossless:
    case T.JPEGLosslessSV1: {
      const header = jpegFrameHeader(frame);
      if (!header) return 'a JPEG lossless frame has no readable start-of-frame header';
      const refused = matches(header, l);
      if (refused) return refused;
      const out = await codecs.lossless(frame, bytesPerSample);
      if (typeof out === 'string') return out;
      if (out.length !== pixels * l.samples * bytesPerSample)
        return 'a JPEG lossless frame decoded to the wrong size';
      return out;
    }
    case T.JPEGLSLossless:
    case T.JPEGLSNearLossless: {
      const header = jpegFrameHeader(frame);
      if (!header) return 'a JPEG-LS frame has no readable start-of-frame header';
      const refused = matches(header, l);
      if (refused) return refused;
      return codecs.wasm('@cornerstonejs/codec-charls', 'JpegLSDecoder', frame, (i) => matches(i, l));
    }
    case T.JPEG2000Lossless:
    case T.JPEG2000: {
      const header = j2kFrameHeader(frame);
      if (!header) return 'a JPEG 2000 frame has no readable SIZ header';
      const refused = matches(header, l);
      if (refused) return refused;
      return codecs.wasm('@cornerstonejs/codec-openjpeg', 'J2KDecoder', frame, (i) => matches(i, l));
    }
    default:
      return 'the transfer syntax has no decoder in the bridge (JPIP, video or deflated frames)';
  }
}

/**
 * Decodes every frame of an encapsulated Pixel Data value (the bytes after the element header) to
 * a DecodedImage: little endian, interleaved, RGB for colour.
 */
export async function decodeEncapsulated(
  codecs: Codecs,
  syntax: string,
  value: Uint8Array,
  l: ImageLayout,
  /** Decoded bytes per coded byte a frame may declare (the profile's ocr.maxCompressionRatio). */
  maxRatio = Number.POSITIVE_INFINITY,
): Promise<DecodedImage | string> {
  const frames = framesOf(value, l.frames, syntax);
  if (typeof frames === 'string') return frames;
  const size = frameBytes(l);
  // Every frame is looked at before the first is decoded, and before the image is allocated.
  for (const frame of frames) {
    const refused = codestreamRefusal(syntax, frame, size, maxRatio);
    if (refused) return refused;
  }
  const data = new Uint8Array(size * l.frames);
  for (let f = 0; f < frames.length; f++) {
    const decoded = await decodeFrame(codecs, syntax, frames[f]!, l);
    if (typeof decoded === 'string') return decoded;
    if (decoded.length < size) return 'a frame decoded to fewer bytes than Rows x Columns x samples';
    data.set(decoded.subarray(0, size), f * size);
  }
  // libjpeg-turbo converts YCbCr to RGB itself; OpenJPEG applies the inverse component transform
  // of YBR_RCT/YBR_ICT; the other decoders return the samples as stored.
  let photometric = l.photometric;
  if (l.samples === 3) {
    const jpeg = syntax === T.JPEGBaseline8Bit || syntax === T.JPEGExtended12Bit;
    if (!jpeg && photometric === 'YBR_FULL_422') return 'YBR_FULL_422 outside JPEG cannot be decoded';
    if (!jpeg && photometric === 'YBR_FULL') {
      if (l.bitsAllocated !== 8) return 'YBR_FULL with 16-bit samples cannot be converted to RGB';
      ybrFullToRgb(data);
    }
    photometric = 'RGB';
  }
  return { ...l, photometric, planar: false, data };
}

/**
 * A DecodedImage of native pixel data: 16-bit big endian swapped, planar interleaved, YBR_FULL and
 * YBR_FULL_422 converted to RGB.
 */
export function decodeNative(value: Uint8Array, l: ImageLayout, bigEndian: boolean): DecodedImage | string {
  const bytesPerSample = l.bitsAllocated / 8;
  const pixels = l.rows * l.columns;
  const is422 = l.photometric === 'YBR_FULL_422';
  const stored = is422 ? l.rows * Math.ceil(l.columns / 2) * 4 * bytesPerSample : frameBytes(l);
  if (is422 && bytesPerSample !== 1) return 'YBR_FULL_422 with 16-bit samples cannot be decoded';
  if (value.length < stored * l.frames)
    return 'the pixel data is shorter than Rows x Columns x samples x frames';
  const size = frameBytes(l);
  const data = new Uint8Array(size * l.frames);
  for (let f = 0; f < l.frames; f++) {
    let frame = value.subarray(f * stored, (f + 1) * stored);
    if (is422) frame = expand422(frame, l.rows, l.columns);
    else if (l.planar && l.samples === 3) frame = interleave(frame, pixels, bytesPerSample);
    data.set(frame, f * size);
  }
  if (bigEndian && bytesPerSample === 2)
    for (let i = 0; i + 1 < data.length; i += 2) {
      const b = data[i]!;
      data[i] = data[i + 1]!;
      data[i + 1] = b;
    }
  let photometric = l.photometric;
  if (photometric === 'YBR_FULL' || is422) {
    ybrFullToRgb(data);
    photometric = 'RGB';
  }
  return { ...l, photometric, planar: false, data };
}
