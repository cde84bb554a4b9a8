/**
 * Files as Orthanc may serve them back: without the preamble, without "DICM", without the file
 * meta group or its group length, in implicit or explicit VR. Each becomes a proper Part 10 file
 * whose dataset bytes are the original's.
 */
import { DicomParseError, parseDicom, writeDicom } from '../../src/dicom/file';
import { toPart10 } from '../../src/dicom/part10';
import { locatePixelData } from '../../src/dicom/scan';
import { ctSlice } from '../helpers/samples';
import { str } from '../../src/dicom/values';
import { TAG } from '../../src/dicom/tags';
import { TRANSFER_SYNTAX } from '../../src/dicom/syntaxes';

const IMPLICIT_LE = TRANSFER_SYNTAX.ImplicitVRLittleEndian;

function parts(bytes: Buffer) {
  const metaEnd = 132 + 12 + bytes.readUInt32LE(140);
  return { meta: bytes.subarray(132, metaEnd), dataset: bytes.subarray(metaEnd) };
}

function implicitSlice(): Buffer {
  const { file } = ctSlice();
  return writeDicom({
    meta: { ...file.meta, [TAG.TransferSyntaxUID]: { vr: 'UI', Value: [IMPLICIT_LE] } },
    dict: file.dict,
  });
}

describe('toPart10', () => {
  it('returns a complete Part 10 file as it is, without a copy', () => {
    const { bytes } = ctSlice();
    expect(toPart10(bytes)).toBe(bytes);
  });

  it.each([
    ['explicit VR little endian', () => ctSlice().bytes],
    ['implicit VR little endian', implicitSlice],
  ])(
    'completes a bare %s dataset (no preamble, no DICM, no meta) with the meta its dataset implies',
    (_l, make) => {
      const bytes = make();
      const { dataset } = parts(bytes);
      const fixed = toPart10(dataset);
      expect(fixed.toString('latin1', 128, 132)).toBe('DICM');
      expect(parts(fixed).dataset.equals(dataset)).toBe(true);
      const original = parseDicom(bytes);
      const read = parseDicom(fixed);
      expect(str(read.meta[TAG.TransferSyntaxUID])).toBe(str(original.meta[TAG.TransferSyntaxUID]));
      expect(str(read.meta[TAG.MediaStorageSOPClassUID])).toBe(str(original.dict[TAG.SOPClassUID]));
      expect(str(read.meta[TAG.MediaStorageSOPInstanceUID])).toBe(str(original.dict[TAG.SOPInstanceUID]));
      expect(Object.keys(read.dict)).toEqual(Object.keys(original.dict));
      expect(locatePixelData(fixed)).toBeDefined(); // the splice path works on it too
    },
  );

  it('puts the preamble in front of a file that starts with DICM or with its meta group', () => {
    const { bytes } = ctSlice();
    for (const cut of [bytes.subarray(128), bytes.subarray(132)]) {
      const fixed = toPart10(cut);
      expect(fixed.subarray(128).equals(bytes.subarray(128))).toBe(true);
    }
  });

  it('recomputes a missing group length', () => {
    const { bytes } = ctSlice();
    const { meta, dataset } = parts(bytes);
    const withoutLength = Buffer.concat([meta.subarray(12), dataset]); // meta without (0002,0000), no preamble
    const fixed = toPart10(withoutLength);
    expect(parts(fixed).dataset.equals(dataset)).toBe(true);
    expect(str(parseDicom(fixed).meta[TAG.TransferSyntaxUID])).toBe(
      str(parseDicom(bytes).meta[TAG.TransferSyntaxUID]),
    );
  });

  it('refuses bytes that are not DICOM with a reason that quotes nothing of them', () => {
    const junk = Buffer.from('DOE^JOHN 19700101 this is not a DICOM file at all.....', 'latin1');
    expect(() => toPart10(junk)).toThrow(DicomParseError);
    try {
      toPart10(junk);
    } catch (err) {
      expect((err as Error).message).not.toMatch(/DOE|JOHN|1970/);
    }
  });
});
