/**
 * The decoders on files nobody here wrote (pydicom's test corpus): the same image stored in
 * several transfer syntaxes decodes to the same bytes, and what cannot be decoded says why.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { locatePixelData } from '../../src/deid/scan';
import { Codecs, jpegFrameHeader } from '../../src/pixels/codecs';
import { readItems } from '../../src/pixels/encapsulated';
import { decodeRle } from '../../src/pixels/rle';
import { decodeBytes } from '../../src/pipeline/pixels';
import type { DecodedImage } from '../../src/pixels/image';
import { CORPORA } from '../helpers/realWorld';

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
});
