import dcmjs from 'dcmjs';
import { parseDicom, type DicomFile } from '../../src/dicom/file';
import { deidentify } from '../../src/deid/engine';
import { BASIC_OPTIONS } from '../../src/deid/profile';
import { writePart10 } from '../../src/dicom/writer';
import { corpus } from '../fixtures/corpus';
import { splitAtPixelData } from '../../src/pipeline/instance';
import { ctSlice, mammoView, testContext } from '../helpers/samples';
import { TAG } from '../../src/dicom/tags';

function dcmjsWrite(f: DicomFile): Buffer {
  // A parsed meta still holds its group length, which dcmjs would write a second time.
  const { [TAG.FileMetaInformationGroupLength]: _length, ...meta } = f.meta;
  const dd = new dcmjs.data.DicomDict(meta);
  dd.dict = f.dict;
  return Buffer.from(dd.write());
}

describe('writePart10', () => {
  const files: Array<[string, DicomFile]> = [];
  for (const f of corpus()) {
    const original = parseDicom(f.bytes);
    files.push([`${f.name} original`, original]);
    files.push([`${f.name} de-identified`, deidentify(original, testContext()).file]);
    files.push([
      `${f.name} header`,
      deidentify(parseDicom(splitAtPixelData(f.bytes).head), testContext()).file,
    ]);
    const basic = deidentify(
      original,
      testContext({ options: { ...BASIC_OPTIONS, cleanDescriptors: true } }),
    );
    files.push([`${f.name} basic+clean`, basic.file]);
  }
  for (const [name, s] of [
    ['CT', ctSlice()],
    ['MG', mammoView()],
  ] as const) {
    files.push([`${name} sample`, s.file], [`${name} de-identified`, deidentify(s.file, testContext()).file]);
  }

  it('writes the same bytes as dcmjs for every file it handles, and hands the rest back', () => {
    let handled = 0;
    const declined: string[] = [];
    for (const [name, f] of files) {
      const mine = writePart10(f.meta, f.dict);
      if (!mine) {
        declined.push(name);
        continue;
      }
      handled++;
      expect({ name, same: mine.equals(dcmjsWrite(f)) }).toEqual({ name, same: true });
    }
    expect(handled).toBeGreaterThanOrEqual(99);
    // Big endian files and encapsulated pixel data stay with dcmjs.
    expect(declined.every((n) => /explicitBE|jpeg|rle/.test(n))).toBe(true);
  });
});
