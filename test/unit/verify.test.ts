import { parseDicom, writeDicom, type DicomFile } from '../../src/dicom/file';
import { deidentify } from '../../src/deid/engine';
import type { Dataset } from '../../src/deid/types';
import { verifyInstance } from '../../src/verify/instance';
import { describeFailure } from '../../src/verify/types';
import { ctSlice, firstPatient, mammoView, testContext } from '../helpers/samples';
import { TAG, tagOf, formatTag } from '../../src/dicom/tags';
import { str } from '../../src/dicom/values';

const ctx = testContext();

function run(original: DicomFile, tamper?: (out: DicomFile) => void) {
  const r = deidentify(original, ctx);
  tamper?.(r.file);
  // verify what would be sent: the written bytes, parsed back
  return verifyInstance(original, parseDicom(writeDicom(r.file)), ctx, r.patient);
}

describe('verifyInstance', () => {
  it('passes the engine output for CT and mammography', () => {
    for (const { file } of [ctSlice(), mammoView()]) {
      const v = run(file);
      expect(v.failures.map(describeFailure)).toEqual([]);
      expect(v.ok).toBe(true);
    }
  });

  it('catches a planted leak: the patient name copied into an element the profile keeps', () => {
    const { file } = ctSlice();
    const name = firstPatient().name;
    const v = run(file, (out) => {
      out.dict[TAG.BodyPartExamined] = { vr: 'CS', Value: [name.split('^')[0]!.toUpperCase()] }; // BodyPartExamined is kept
    });
    expect(v.ok).toBe(false);
    expect(v.failures).toContainEqual(
      expect.objectContaining({ check: 'residual-phi', tag: formatTag(TAG.BodyPartExamined) }),
    );
    // the reason names the check and the tag, never the value
    for (const f of v.failures) expect(describeFailure(f)).not.toContain(name.split('^')[0]!);
  });

  it('catches an identifying value inside a nested sequence item', () => {
    const { file } = mammoView();
    const v = run(file, (out) => {
      const item = (out.dict[TAG.AnatomicRegionSequence]!.Value as Dataset[])[0]!;
      item[TAG.CodeMeaning] = { vr: 'LO', Value: [`breast of ${firstPatient().id}`] };
    });
    expect(v.failures).toContainEqual(
      expect.objectContaining({
        check: 'residual-phi',
        tag: formatTag(TAG.CodeMeaning),
        path: `${formatTag(TAG.AnatomicRegionSequence)}[0]`,
      }),
    );
  });

  it('catches a private element left in the output', () => {
    const v = run(ctSlice().file, (out) => {
      out.dict[tagOf(0x0011, 0x1010)] = { vr: 'LO', Value: ['harmless'] };
    });
    expect(v.failures).toContainEqual(
      expect.objectContaining({ check: 'conformance', tag: formatTag(tagOf(0x0011, 0x1010)) }),
    );
  });

  it('catches an attribute the profile removes (X) that is still there', () => {
    const v = run(ctSlice().file, (out) => {
      out.dict[TAG.InstitutionalDepartmentName] = { vr: 'LO', Value: ['SOMEWHERE'] };
    });
    expect(v.failures).toContainEqual(
      expect.objectContaining({ check: 'conformance', tag: formatTag(TAG.InstitutionalDepartmentName) }),
    );
  });

  it('catches a UID that was not remapped', () => {
    const { file } = ctSlice();
    const v = run(file, (out) => {
      out.dict[TAG.SeriesInstanceUID] = { vr: 'UI', Value: ['2.25.1234'] };
    });
    expect(v.failures).toContainEqual(
      expect.objectContaining({ check: 'conformance', tag: formatTag(TAG.SeriesInstanceUID) }),
    );
  });

  it('catches a changed laterality, view or pixel data', () => {
    const v = run(mammoView().file, (out) => {
      out.dict[TAG.ImageLaterality] = {
        vr: 'CS',
        Value: [str(out.dict[TAG.ImageLaterality]) === 'R' ? 'L' : 'R'],
      };
      out.dict[TAG.ViewPosition] = { vr: 'CS', Value: ['XCC'] };
      out.dict[TAG.PixelData] = { vr: 'OW', Value: [new Uint16Array(96 * 80).buffer] };
    });
    const tags = v.failures.filter((f) => f.check === 'correspondence').map((f) => f.tag);
    expect(tags).toEqual(
      expect.arrayContaining([
        formatTag(TAG.ImageLaterality),
        formatTag(TAG.ViewPosition),
        formatTag(TAG.PixelData),
      ]),
    );
  });

  it('catches a missing de-identification marking', () => {
    const v = run(ctSlice().file, (out) => {
      delete out.dict[TAG.PatientIdentityRemoved];
    });
    expect(v.failures).toContainEqual(
      expect.objectContaining({ check: 'marking', tag: formatTag(TAG.PatientIdentityRemoved) }),
    );
  });

  it('catches dates that were not shifted', () => {
    const v = run(ctSlice().file, (out) => {
      out.dict[TAG.SeriesDate] = { vr: 'DA', Value: ['20240115'] };
    });
    expect(v.failures).toContainEqual(
      expect.objectContaining({ check: 'conformance', tag: formatTag(TAG.SeriesDate) }),
    );
  });
});
