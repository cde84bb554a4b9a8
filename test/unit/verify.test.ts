import { parseDicom, writeDicom, type DicomFile } from '../../src/deid/dicom';
import { deidentify } from '../../src/deid/engine';
import type { Dataset } from '../../src/deid/types';
import { verifyInstance } from '../../src/verify/instance';
import { describeFailure } from '../../src/verify/types';
import { ctSlice, firstPatient, mammoView, testContext } from '../helpers/samples';
import { TAG } from '../../src/dicom/tags';
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
      out.dict['00180015'] = { vr: 'CS', Value: [name.split('^')[0]!.toUpperCase()] }; // BodyPartExamined is kept
    });
    expect(v.ok).toBe(false);
    expect(v.failures).toContainEqual(expect.objectContaining({ check: 'residual-phi', tag: '(0018,0015)' }));
    // the reason names the check and the tag, never the value
    for (const f of v.failures) expect(describeFailure(f)).not.toContain(name.split('^')[0]!);
  });

  it('catches an identifying value inside a nested sequence item', () => {
    const { file } = mammoView();
    const v = run(file, (out) => {
      const item = (out.dict['00082218']!.Value as Dataset[])[0]!;
      item['00080104'] = { vr: 'LO', Value: [`breast of ${firstPatient().id}`] };
    });
    expect(v.failures).toContainEqual(
      expect.objectContaining({ check: 'residual-phi', tag: '(0008,0104)', path: '(0008,2218)[0]' }),
    );
  });

  it('catches a private element left in the output', () => {
    const v = run(ctSlice().file, (out) => {
      out.dict['00111010'] = { vr: 'LO', Value: ['harmless'] };
    });
    expect(v.failures).toContainEqual(expect.objectContaining({ check: 'conformance', tag: '(0011,1010)' }));
  });

  it('catches an attribute the profile removes (X) that is still there', () => {
    const v = run(ctSlice().file, (out) => {
      out.dict['00081040'] = { vr: 'LO', Value: ['SOMEWHERE'] };
    });
    expect(v.failures).toContainEqual(expect.objectContaining({ check: 'conformance', tag: '(0008,1040)' }));
  });

  it('catches a UID that was not remapped', () => {
    const { file } = ctSlice();
    const v = run(file, (out) => {
      out.dict[TAG.SeriesInstanceUID] = { vr: 'UI', Value: ['2.25.1234'] };
    });
    expect(v.failures).toContainEqual(expect.objectContaining({ check: 'conformance', tag: '(0020,000E)' }));
  });

  it('catches a changed laterality, view or pixel data', () => {
    const v = run(mammoView().file, (out) => {
      out.dict['00200062'] = { vr: 'CS', Value: [str(out.dict['00200062']) === 'R' ? 'L' : 'R'] };
      out.dict['00185101'] = { vr: 'CS', Value: ['XCC'] };
      out.dict[TAG.PixelData] = { vr: 'OW', Value: [new Uint16Array(96 * 80).buffer] };
    });
    const tags = v.failures.filter((f) => f.check === 'correspondence').map((f) => f.tag);
    expect(tags).toEqual(expect.arrayContaining(['(0020,0062)', '(0018,5101)', '(7FE0,0010)']));
  });

  it('catches a missing de-identification marking', () => {
    const v = run(ctSlice().file, (out) => {
      delete out.dict[TAG.PatientIdentityRemoved];
    });
    expect(v.failures).toContainEqual(expect.objectContaining({ check: 'marking', tag: '(0012,0062)' }));
  });

  it('catches dates that were not shifted', () => {
    const v = run(ctSlice().file, (out) => {
      out.dict['00080021'] = { vr: 'DA', Value: ['20240115'] };
    });
    expect(v.failures).toContainEqual(expect.objectContaining({ check: 'conformance', tag: '(0008,0021)' }));
  });
});
