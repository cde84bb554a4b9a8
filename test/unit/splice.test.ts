import dcmjs from 'dcmjs';
import { parseDicom, writeDicom } from '../../src/deid/dicom';
import { deidentify } from '../../src/deid/engine';
import { locatePixelData } from '../../src/deid/scan';
import { DEFLATED_DATASET_SYNTAXES } from '../../src/dicom/syntaxes';
import type { Dataset } from '../../src/deid/types';
import { splitAtPixelData } from '../../src/pipeline/instance';
import { ctSlice, mammoView, testContext } from '../helpers/samples';

const ctx = testContext();

function file(syntax: string, dict: Dataset): Buffer {
  const meta: Dataset = {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.7'] },
    '00020003': { vr: 'UI', Value: ['1.2.3.4.5'] },
    '00020010': { vr: 'UI', Value: [syntax] },
  };
  const dd = new dcmjs.data.DicomDict(meta);
  dd.dict = dict;
  return Buffer.from(dd.write());
}

const pixels = new Uint16Array([1, 2, 3, 4]).buffer;
const base: Dataset = {
  '00080018': { vr: 'UI', Value: ['1.2.3.4.5'] },
  '00081140': {
    vr: 'SQ',
    Value: [
      { '00081155': { vr: 'UI', Value: ['1.2.3.4.6'] } },
      { '00081155': { vr: 'UI', Value: ['1.2.3.4.7'] } },
    ],
  },
  '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] },
  '00280010': { vr: 'US', Value: [2] },
  '00280011': { vr: 'US', Value: [2] },
  '7FE00010': { vr: 'OW', Value: [pixels] },
};

describe('pixel data splice', () => {
  it('finds the top-level Pixel Data element in explicit and implicit VR little endian files', () => {
    for (const syntax of ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2']) {
      const bytes = file(syntax, base);
      const loc = locatePixelData(bytes);
      expect(loc).toBeDefined();
      expect(loc!.end).toBe(bytes.length);
      expect(bytes.readUInt16LE(loc!.start)).toBe(0x7fe0);
      expect(bytes.readUInt16LE(loc!.start + 2)).toBe(0x0010);
      expect(bytes.subarray(loc!.end - 8)).toEqual(Buffer.from(new Uint8Array(pixels)));
    }
  });

  it('walks undefined-length sequences and encapsulated pixel data', () => {
    // (0008,1140) SQ of undefined length with one undefined-length item, then encapsulated pixel data
    const le = (n: number, bytes: number): Buffer => {
      const b = Buffer.alloc(bytes);
      if (bytes === 2) b.writeUInt16LE(n);
      else b.writeUInt32LE(n >>> 0);
      return b;
    };
    const tag = (g: number, e: number): Buffer => Buffer.concat([le(g, 2), le(e, 2)]);
    const uid = Buffer.from('1.2.3.4\0');
    const body = Buffer.concat([
      tag(0x0008, 0x1140),
      Buffer.from('SQ'),
      le(0, 2),
      le(0xffffffff, 4),
      tag(0xfffe, 0xe000),
      le(0xffffffff, 4),
      tag(0x0008, 0x1155),
      Buffer.from('UI'),
      le(uid.length, 2),
      uid,
      tag(0xfffe, 0xe00d),
      le(0, 4),
      tag(0xfffe, 0xe0dd),
      le(0, 4),
      tag(0x7fe0, 0x0010),
      Buffer.from('OB'),
      le(0, 2),
      le(0xffffffff, 4),
      tag(0xfffe, 0xe000),
      le(0, 4),
      tag(0xfffe, 0xe000),
      le(4, 4),
      Buffer.from([9, 9, 9, 9]),
      tag(0xfffe, 0xe0dd),
      le(0, 4),
    ]);
    const head = file('1.2.840.10008.1.2.4.50', {});
    const bytes = Buffer.concat([head, body]);
    const loc = locatePixelData(bytes);
    // SQ header 12 + item 8 + UI element 8 + 8 + item delimiter 8 + sequence delimiter 8
    expect(loc).toEqual({ start: head.length + 12 + 8 + 8 + uid.length + 8 + 8, end: bytes.length });
    // a truncated file is not walked
    expect(locatePixelData(bytes.subarray(0, bytes.length - 6))).toBeUndefined();
  });

  it('gives byte for byte the file the full parse path writes', () => {
    for (const { bytes } of [ctSlice(), mammoView()]) {
      const full = writeDicom(deidentify(parseDicom(bytes), ctx).file);
      const { head, pixel } = splitAtPixelData(bytes);
      expect(pixel).not.toBeNull();
      expect(head.length).toBeLessThan(bytes.length / 2);
      const spliced = Buffer.concat([writeDicom(deidentify(parseDicom(head), ctx).file), pixel!]);
      expect(spliced.equals(full)).toBe(true);
    }
  });

  it('falls back to the full path for deflated files and files without a preamble', () => {
    expect(locatePixelData(file('1.2.840.10008.1.2.1.99', base))).toBeUndefined();
    expect(locatePixelData(file('1.2.840.10008.1.2.1', base).subarray(128))).toBeUndefined();
  });

  it('tells a deflated dataset from deflated frames, as PS3.6 names them', () => {
    // JPIP Referenced Deflate (1.2.4.95) deflates the dataset: no walk. Deflated Image Frame
    // Compression (1.2.8.1) deflates only the frames inside an ordinary explicit VR dataset: the
    // walk finds Pixel Data (the scanner took 1.2.8.1 for a deflated dataset, and missed 1.2.4.95).
    expect(DEFLATED_DATASET_SYNTAXES.has('1.2.840.10008.1.2.4.95')).toBe(true);
    expect(DEFLATED_DATASET_SYNTAXES.has('1.2.840.10008.1.2.8.1')).toBe(false);
    const frames = file('1.2.840.10008.1.2.8.1', base);
    const at = locatePixelData(frames);
    expect(at).toBeDefined();
    expect(frames.readUInt32LE(at!.start)).toBe(0x00107fe0); // (7FE0,0010) as little endian bytes
    expect(at!.end).toBe(frames.length);
  });
});
