/**
 * The decoders on files nobody here wrote (pydicom's test corpus): the same image stored in
 * several transfer syntaxes decodes to the same bytes, and what cannot be decoded says why.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { locatePixelData } from '../../src/dicom/scan';
import {
  Codecs,
  codestreamRefusal,
  decodeEncapsulated,
  j2kFrameHeader,
  jpegFrameHeader,
  MAX_JPEG_SCANS,
} from '../../src/pixels/codecs';
import { TRANSFER_SYNTAX } from '../../src/dicom/syntaxes';
import { TAG } from '../../src/dicom/tags';
import { framesOf, readItems } from '../../src/pixels/encapsulated';
import { layoutOf } from '../../src/pixels/image';
import { parseDicom } from '../../src/dicom/file';
import { decodeRle } from '../../src/pixels/rle';
import { decodeBytes } from '../../src/pipeline/pixels';
import type { DecodedImage } from '../../src/pixels/image';
import { CORPORA } from '../helpers/realWorld';
import { oneFrameValue } from '../helpers/encapsulated';

// Debian's python3-pydicom, which the test command installs.
const dir = CORPORA.pydicom!;
const codecs = new Codecs();

async function decode(name: string, patch?: (b: Buffer) => Buffer): Promise<DecodedImage | string> {
  let bytes: Buffer = readFileSync(path.join(dir, name));
  if (patch) bytes = patch(Buffer.from(bytes));
  return decodeBytes(codecs, bytes);
}

async function md5(name: string): Promise<string> {
  const img = await decode(name);
  if (typeof img === 'string') throw new Error(`${name}: ${img}`);
  return createHash('md5').update(img.data).digest('hex');
}

describe('pixel decoders on pydicom files', () => {
  it('decode one 16-bit MR image from native LE, BE, implicit, RLE, JPEG-LS and JPEG 2000 to the same pixels', async () => {
    const names = [
      'MR_small.dcm',
      'MR_small_bigendian.dcm',
      'MR_small_implicit.dcm',
      'MR_small_RLE.dcm',
      'MR_small_jpeg_ls_lossless.dcm',
      'MR_small_jp2klossless.dcm',
    ];
    const hashes = await Promise.all(names.map(md5));
    expect(new Set(hashes).size).toBe(1);
  });

  it('decode one RGB image from RLE, JPEG lossless (SV1) and JPEG 2000 to the same pixels', async () => {
    const hashes = await Promise.all(
      ['SC_rgb_rle.dcm', 'SC_rgb_jpeg_gdcm.dcm', 'SC_rgb_gdcm_KY.dcm'].map(md5),
    );
    expect(new Set(hashes).size).toBe(1);
    const img = (await decode('SC_rgb_rle_16bit_2frame.dcm')) as DecodedImage;
    expect([img.frames, img.bitsAllocated, img.photometric, img.data.length]).toEqual([
      2,
      16,
      'RGB',
      2 * 100 * 100 * 3 * 2,
    ]);
  });

  it('decode YBR_FULL_422 stored natively and the JPEG baseline made from it alike (to RGB)', async () => {
    expect(await md5('SC_ybr_full_422_uncompressed.dcm')).toBe(await md5('SC_rgb_jpeg_dcmtk.dcm'));
    const img = (await decode('GDCMJ2K_TextGBR.dcm')) as DecodedImage;
    expect([img.photometric, img.samples, img.rows]).toEqual(['RGB', 3, 400]);
  });

  it('name why a file cannot be decoded: 12-bit JPEG, 32-bit samples, a frame of another size', async () => {
    expect(await decode('JPEG-lossy.dcm')).toMatch(/12-bit samples: no 12-bit JPEG codec/);
    expect(await decode('SC_rgb_rle_32bit.dcm')).toMatch(/BitsAllocated is neither 8 nor 16/);
    // A JPEG frame whose start-of-frame claims 60000 rows: refused before any decoder allocates.
    const tall = await decode('SC_rgb_jpeg_dcmtk.dcm', (b) => {
      const loc = locatePixelData(b)!;
      const sof = b.indexOf(Buffer.from([0xff, 0xc0]), loc.start);
      b.writeUInt16BE(60000, sof + 5);
      return b;
    });
    expect(tall).toBe('a compressed frame declares a size other than Rows x Columns');
  });

  it('read a JPEG start-of-frame header, and nothing from bytes that are not JPEG', () => {
    const sof = Buffer.from([0xff, 0xd8, 0xff, 0xc3, 0x00, 0x0b, 0x10, 0x01, 0x00, 0x02, 0x00, 0x01]);
    expect(jpegFrameHeader(sof)).toEqual({ bitsPerSample: 16, height: 256, width: 512, componentCount: 1 });
    expect(jpegFrameHeader(Buffer.from([0, 1, 2, 3]))).toBeUndefined();
  });
});

describe('hostile compressed frames', () => {
  it('refuse an RLE frame whose header or segments do not fit the image, without writing past it', () => {
    const frame = (segments: number, offsets: number[], body: number[]) => {
      const b = new Uint8Array(64 + body.length);
      const v = new DataView(b.buffer);
      v.setUint32(0, segments, true);
      offsets.forEach((o, i) => v.setUint32(4 + i * 4, o, true));
      b.set(body, 64);
      return b;
    };
    expect(decodeRle(new Uint8Array(10), 4, 1, 1)).toMatch(/shorter than its 64-byte header/);
    expect(decodeRle(frame(2, [64, 66], [0, 1, 0, 1]), 4, 1, 1)).toMatch(/segment count that does not match/);
    expect(decodeRle(frame(1, [1_000_000], [0, 1]), 4, 1, 1)).toMatch(/offset lies outside the frame/);
    expect(decodeRle(frame(1, [64], [0, 7]), 4, 1, 1)).toMatch(/fewer bytes than the image needs/);
    // A run that claims 128 bytes for a 4-pixel image stops at 4.
    expect([...(decodeRle(frame(1, [64], [-127 & 0xff, 9]), 4, 1, 1) as Uint8Array)]).toEqual([9, 9, 9, 9]);
  });

  it('refuse encapsulated items that run past the element or are not items', () => {
    const item = (len: number, body: number[]) => [
      0xfe,
      0xff,
      0x00,
      0xe0,
      len & 0xff,
      (len >> 8) & 0xff,
      0,
      0,
      ...body,
    ];
    const end = [0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0];
    expect(readItems(new Uint8Array([...item(0, []), ...item(100, [1, 2])]))).toMatch(
      /longer than the element/,
    );
    expect(readItems(new Uint8Array([0x10, 0, 0x10, 0, 0, 0, 0, 0]))).toMatch(/something other than items/);
    expect(readItems(new Uint8Array(item(0, [])))).toMatch(/no sequence delimiter/);
    expect(readItems(new Uint8Array([...item(0, []), ...item(2, [1, 2]), ...end]))).toHaveLength(2);
  });

  /** The first frame of a pydicom file, its layout and its syntax. */
  function firstFrame(name: string) {
    const bytes = readFileSync(path.join(dir, name));
    const loc = locatePixelData(bytes)!;
    const file = parseDicom(bytes);
    const layout = layoutOf(file.dict);
    if (typeof layout === 'string') throw new Error(layout);
    const syntax = String(file.meta[TAG.TransferSyntaxUID]!.Value![0]);
    const frames = framesOf(bytes.subarray(loc.start + 12, loc.end), layout.frames, syntax);
    if (typeof frames === 'string') throw new Error(frames);
    return { frame: frames[0]!, layout, syntax };
  }

  it('refuse a truncated frame (no end-of-image marker) before any decoder sees it, padding allowed', async () => {
    const { frame, layout, syntax } = firstFrame('MR_small_jpeg_ls_lossless.dcm');
    expect(codestreamRefusal(syntax, frame, 1, 1e9)).toBeUndefined();
    // Even-length padding after EOI, with 00 or FF (pydicom's JPEG-lossy.dcm ends FF D9 FF).
    expect(codestreamRefusal(syntax, new Uint8Array([...frame, 0xff]), 1, 1e9)).toBeUndefined();
    expect(codestreamRefusal(syntax, new Uint8Array([...frame, 0]), 1, 1e9)).toBeUndefined();
    const cut = frame.subarray(0, frame.length - 300);
    expect(codestreamRefusal(syntax, cut, 1, 1e9)).toBe(
      'a compressed frame has no end-of-image marker (truncated)',
    );
    // Through the decoder entry: refused at once, named, nothing decoded.
    const t0 = performance.now();
    expect(await decodeEncapsulated(codecs, syntax, oneFrameValue(cut), layout)).toBe(
      'a compressed frame has no end-of-image marker (truncated)',
    );
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('refuse a JPEG frame with more than MAX_JPEG_SCANS scans (20,000 progressive scans blocked the loop 76 s)', () => {
    const scan = [0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00, 0x12, 0x34];
    const jpeg = (scans: number) =>
      new Uint8Array([0xff, 0xd8, ...Array.from({ length: scans }, () => scan).flat(), 0xff, 0xd9]);
    const T = TRANSFER_SYNTAX;
    expect(codestreamRefusal(T.JPEGBaseline8Bit, jpeg(3), 1, 1e9)).toBeUndefined();
    expect(codestreamRefusal(T.JPEGBaseline8Bit, jpeg(MAX_JPEG_SCANS), 1, 1e9)).toBeUndefined();
    expect(codestreamRefusal(T.JPEGBaseline8Bit, jpeg(MAX_JPEG_SCANS + 1), 1, 1e9)).toBe(
      `a JPEG frame has more than ${MAX_JPEG_SCANS} scans`,
    );
    expect(codestreamRefusal(T.JPEGLSLossless, jpeg(20_000), 1, 1e9)).toMatch(/more than 64 scans/);
  });

  it('refuse a frame that would decode to more than ocr.maxCompressionRatio times its size', () => {
    const { frame, syntax, layout } = firstFrame('JPEG2000.dcm');
    const decoded = layout.rows * layout.columns * layout.samples * (layout.bitsAllocated / 8);
    // pydicom's uniform JPEG 2000 frame, the most compressed real frame seen here (2,097:1), passes the default.
    expect(decoded / frame.length).toBeGreaterThan(2000);
    expect(codestreamRefusal(syntax, frame, decoded, 20_000)).toBeUndefined();
    expect(codestreamRefusal(syntax, frame, decoded, 1000)).toBe(
      "a compressed frame would decode to more than 1000 times its size (the profile's ocr.maxCompressionRatio)",
    );
  });

  it('read the JPEG 2000 size from the codestream only, never from a decoy SIZ in a JP2 box', () => {
    const siz = (w: number, h: number) => {
      const b = new Uint8Array(4 + 41);
      const v = new DataView(b.buffer);
      b.set([0xff, 0x4f, 0xff, 0x51]);
      v.setUint16(4, 41); // Lsiz
      v.setUint32(8, w); // Xsiz
      v.setUint32(12, h); // Ysiz
      v.setUint16(40, 1); // Csiz
      b[42] = 7; // Ssiz: 8 bits
      return b;
    };
    const box = (type: string, body: Uint8Array) => {
      const b = new Uint8Array(8 + body.length);
      new DataView(b.buffer).setUint32(0, b.length);
      b.set(
        [...type].map((c) => c.charCodeAt(0)),
        4,
      );
      b.set(body, 8);
      return b;
    };
    const signature = new Uint8Array([0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a]);
    const jp2 = (...boxes: Uint8Array[]) => new Uint8Array(Buffer.concat([signature, ...boxes]));
    expect(j2kFrameHeader(siz(64, 64))).toMatchObject({ width: 64, height: 64, componentCount: 1 });
    // The review's file: an xml box declaring 64x64 before a codestream of 8192x8192.
    const decoy = jp2(box('xml ', siz(64, 64)), box('jp2c', siz(8192, 8192)));
    expect(j2kFrameHeader(decoy)).toMatchObject({ width: 8192, height: 8192 });
    // No codestream box: no size, whatever the other boxes hold.
    expect(j2kFrameHeader(jp2(box('xml ', siz(64, 64))))).toBeUndefined();
    // Bytes that are neither a codestream nor a JP2 file, with a SIZ inside: no size.
    expect(j2kFrameHeader(new Uint8Array([1, 2, 3, 4, ...siz(64, 64)]))).toBeUndefined();
  });
});
