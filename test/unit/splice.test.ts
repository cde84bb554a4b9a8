import dcmjs from 'dcmjs';
import { parseDicom, writeDicom } from '../../src/dicom/file';
import { deidentify } from '../../src/deid/engine';
import { locatePixelData } from '../../src/dicom/scan';
import { DEFLATED_DATASET_SYNTAXES, TRANSFER_SYNTAX } from '../../src/dicom/syntaxes';
import type { Dataset } from '../../src/deid/types';
import { splitAtPixelData } from '../../src/pipeline/instance';
import { ctSlice, mammoView, testContext } from '../helpers/samples';
import { TAG } from '../../src/dicom/tags';
import { SOP_CLASS } from '../../src/dicom/sopClasses';

const ctx = testContext();

function file(syntax: string, dict: Dataset): Buffer {
  const meta: Dataset = {
    [TAG.FileMetaInformationVersion]: { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    [TAG.MediaStorageSOPClassUID]: { vr: 'UI', Value: [SOP_CLASS.SecondaryCaptureImageStorage] },
    [TAG.MediaStorageSOPInstanceUID]: { vr: 'UI', Value: ['1.2.3.4.5'] },
    [TAG.TransferSyntaxUID]: { vr: 'UI', Value: [syntax] },
  };
  const dd = new dcmjs.data.DicomDict(meta);
  dd.dict = dict;
  return Buffer.from(dd.write());
}

const pixels = new Uint16Array([1, 2, 3, 4]).buffer;
const base: Dataset = {
  [TAG.SOPInstanceUID]: { vr: 'UI', Value: ['1.2.3.4.5'] },
  [TAG.ReferencedImageSequence]: {
    vr: 'SQ',
    Value: [
      { [TAG.ReferencedSOPInstanceUID]: { vr: 'UI', Value: ['1.2.3.4.6'] } },
      { [TAG.ReferencedSOPInstanceUID]: { vr: 'UI', Value: ['1.2.3.4.7'] } },
    ],
  },
  [TAG.PatientName]: { vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] },
  [TAG.Rows]: { vr: 'US', Value: [2] },
  [TAG.Columns]: { vr: 'US', Value: [2] },
  [TAG.PixelData]: { vr: 'OW', Value: [pixels] },
};

describe('pixel data splice', () => {
  it('finds the top-level Pixel Data element in explicit and implicit VR little endian files', () => {
    for (const syntax of [TRANSFER_SYNTAX.ExplicitVRLittleEndian, TRANSFER_SYNTAX.ImplicitVRLittleEndian]) {
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
    const head = file(TRANSFER_SYNTAX.JPEGBaseline8Bit, {});
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
    expect(locatePixelData(file(TRANSFER_SYNTAX.DeflatedExplicitVRLittleEndian, base))).toBeUndefined();
    expect(locatePixelData(file(TRANSFER_SYNTAX.ExplicitVRLittleEndian, base).subarray(128))).toBeUndefined();
  });

  it('tells a deflated dataset from deflated frames, as PS3.6 names them', () => {
    // JPIP Referenced Deflate (1.2.4.95) deflates the dataset: no walk. Deflated Image Frame
    // Compression (1.2.8.1) deflates only the frames inside an ordinary explicit VR dataset: the
    // walk finds Pixel Data (the scanner took 1.2.8.1 for a deflated dataset, and missed 1.2.4.95).
    expect(DEFLATED_DATASET_SYNTAXES.has(TRANSFER_SYNTAX.JPIPReferencedDeflate)).toBe(true);
    expect(DEFLATED_DATASET_SYNTAXES.has(TRANSFER_SYNTAX.DeflatedImageFrameCompression)).toBe(false);
    const frames = file(TRANSFER_SYNTAX.DeflatedImageFrameCompression, base);
    const at = locatePixelData(frames);
    expect(at).toBeDefined();
    expect(frames.readUInt32LE(at!.start)).toBe(0x00107fe0); // (7FE0,0010) as little endian bytes
    expect(at!.end).toBe(frames.length);
  });
});
