/**
 * The residual-PHI rule of the gate (identity values nowhere; removed descriptions only where the
 * original did not carry them) and the four PS3.15 table findings of the real-world review: person
 * identification codes, SR content, free text under a Retain option, and UTC offsets.
 */
import { parseDicom, writeDicom, type DicomFile } from '../../src/dicom/file';
import { deidentify } from '../../src/deid/engine';
import { identifyingValues } from '../../src/deid/identifying';
import { DEFAULT_PROFILE } from '../../src/deid/profile';
import type { Dataset } from '../../src/deid/types';
import { verifyInstance } from '../../src/verify/instance';
import { describeFailure, reasonGroup, summarizeReasons } from '../../src/verify/types';
import { ctSlice, testContext } from '../helpers/samples';
import { str } from '../../src/dicom/values';
import { TAG, formatTag } from '../../src/dicom/tags';

const CODE = (value: string, meaning: string): Dataset => ({
  [TAG.CodeValue]: { vr: 'SH', Value: [value] },
  [TAG.CodingSchemeDesignator]: { vr: 'SH', Value: ['99LOCAL'] },
  [TAG.CodeMeaning]: { vr: 'LO', Value: [meaning] },
});

function withElements(extra: Dataset): DicomFile {
  const { file } = ctSlice();
  return parseDicom(writeDicom({ meta: file.meta, dict: { ...file.dict, ...extra } }));
}

function run(file: DicomFile, profile: Parameters<typeof testContext>[0] = {}) {
  const ctx = testContext(profile);
  const result = deidentify(file, ctx);
  const written = parseDicom(writeDicom(result.file));
  return {
    ctx,
    result,
    written,
    verdict: verifyInstance(file, written, ctx, result.patient),
    /** The gate on the output with some elements put back or changed, written and read again. */
    tampered(change: Dataset) {
      const dict = { ...result.file.dict, ...change };
      const again = parseDicom(writeDicom({ meta: result.file.meta, dict }));
      return verifyInstance(file, again, ctx, result.patient);
    },
  };
}

const reasons = (v: ReturnType<typeof verifyInstance>) => v.failures.map(describeFailure);

describe('the residual-PHI check tells identity from description', () => {
  it('carries a Body Part Examined KNEE of a patient named KNEE: a defined term of the attribute, not the name', () => {
    const file = withElements({
      [TAG.PatientName]: { vr: 'PN', Value: [{ Alphabetic: 'KNEE^TEST' }] },
      [TAG.BodyPartExamined]: { vr: 'CS', Value: ['KNEE'] },
    });
    const r = run(file);
    expect(str(r.written.dict[TAG.BodyPartExamined])).toBe('KNEE');
    expect(reasons(r.verdict)).toEqual([]);
    // Narrow: only the attribute's own defined terms, only where the original held the same value.
    const moved = r.tampered({ [TAG.Modality]: { vr: 'CS', Value: ['KNEE'] } });
    expect(reasons(moved)).toContain(
      `residual-phi: ${formatTag(TAG.Modality)} holds the original's patient name component`,
    );
  });

  it('still quarantines a name component in a coded string that is no defined term of it', () => {
    const file = withElements({
      [TAG.PatientName]: { vr: 'PN', Value: [{ Alphabetic: 'KNEE^MARTHA' }] },
      [TAG.BodyPartExamined]: { vr: 'CS', Value: ['MARTHA'] },
    });
    expect(reasons(run(file).verdict)).toContain(
      `residual-phi: ${formatTag(TAG.BodyPartExamined)} holds the original's patient name component`,
    );
  });

  it('carries a removed description whose text the original also held in a kept code (not a leak)', () => {
    // StudyDescription is removed by the basic profile; the same words stay in the procedure code.
    const file = withElements({
      [TAG.StudyDescription]: { vr: 'LO', Value: ['CT CHEST ABDOMEN'] },
      [TAG.ProcedureCodeSequence]: { vr: 'SQ', Value: [CODE('CTCHAB', 'CT CHEST ABDOMEN')] },
    });
    const r = run(file);
    expect(r.written.dict[TAG.StudyDescription]).toBeUndefined();
    expect(str((r.written.dict[TAG.ProcedureCodeSequence]!.Value![0] as Dataset)[TAG.CodeMeaning])).toBe(
      'CT CHEST ABDOMEN',
    );
    expect(reasons(r.verdict)).toEqual([]);
  });

  it('quarantines a removed description that turns up where the original did not hold it', () => {
    const file = withElements({ [TAG.StudyDescription]: { vr: 'LO', Value: ['CT CHEST ABDOMEN'] } });
    const r = run(file);
    const v = r.tampered({ [TAG.BodyPartExamined]: { vr: 'CS', Value: ['CT CHEST ABDOMEN'] } });
    expect(reasons(v)).toContain(
      `residual-phi: ${formatTag(TAG.BodyPartExamined)} holds text removed from ${formatTag(TAG.StudyDescription)} that the original did not carry here`,
    );
  });

  it('quarantines an identity value in a kept element even when the original held it there', () => {
    // An operator typed the patient's family name into Body Part Examined: the profile keeps that
    // element, and the name still never goes.
    const family = str(ctSlice().file.dict[TAG.PatientName]).split('^')[0]!;
    const file = withElements({ [TAG.BodyPartExamined]: { vr: 'CS', Value: [family.toUpperCase()] } });
    const r = run(file);
    expect(r.verdict.ok).toBe(false);
    expect(reasons(r.verdict)).toContain(
      `residual-phi: ${formatTag(TAG.BodyPartExamined)} holds the original's patient name component`,
    );
    expect(reasons(r.verdict).join('\n')).not.toContain(family);
  });

  it('names the kind of identity value found, never the value', () => {
    const file = withElements({ [TAG.InstitutionName]: { vr: 'LO', Value: ['Hospital Sankt Beispiel'] } });
    const r = run(file);
    const v = r.tampered({
      [TAG.ManufacturerModelName]: { vr: 'LO', Value: ['Model Hospital Sankt Beispiel'] },
    });
    expect(reasons(v)).toContain(
      `residual-phi: ${formatTag(TAG.ManufacturerModelName)} holds the original's institution name`,
    );
    expect(reasons(v).join('\n')).not.toContain('Sankt');
    const uid = str(file.dict[TAG.StudyInstanceUID]);
    const w = r.tampered({ [TAG.ReferencedSOPInstanceUID]: { vr: 'UI', Value: [uid] } });
    expect(reasons(w)).toContain(
      `residual-phi: ${formatTag(TAG.ReferencedSOPInstanceUID)} holds the original's original UID`,
    );
  });

  it('lets a site named after its equipment maker show in the maker-written elements, and only there', () => {
    const file = withElements({
      [TAG.InstitutionName]: { vr: 'LO', Value: ['TOSHIBA'] },
      [TAG.Manufacturer]: { vr: 'LO', Value: ['TOSHIBA_MEC'] },
    });
    const r = run(file);
    expect(reasons(r.verdict)).toEqual([]);
    const moved = r.tampered({ [TAG.ProtocolName]: { vr: 'LO', Value: ['TOSHIBA'] } }); // ProtocolName: not the maker's
    expect(reasons(moved)).toContain(
      `residual-phi: ${formatTag(TAG.ProtocolName)} holds the original's institution name`,
    );
  });

  it('compares UIDs and numbers whole: the digits of a short ID inside a new UID are no leak', () => {
    const file = withElements({ [TAG.StationName]: { vr: 'SH', Value: ['35119'] } }); // StationName
    const found = identifyingValues(file.dict, DEFAULT_PROFILE, str(file.dict[TAG.SOPClassUID]));
    expect(found.identity.get('35119')).toBe('station name');
    const r = run(file);
    const v = r.tampered({
      [TAG.InstanceCreatorUID]: { vr: 'UI', Value: ['2.25.1657915338266564351197588881'] },
    });
    expect(reasons(v).filter((x) => x.startsWith('residual-phi'))).toEqual([]);
    const whole = r.tampered({ [TAG.AcquisitionNumber]: { vr: 'IS', Value: ['35119'] } });
    expect(reasons(whole)).toContain(
      `residual-phi: ${formatTag(TAG.AcquisitionNumber)} holds the original's station name`,
    );
  });

  it('passes over the marking, and refuses a marking that is not exactly the constant one', () => {
    // A patient whose name is also a word of the marking ("Patient", "Profile"...).
    const file = withElements({
      [TAG.PatientName]: { vr: 'PN', Value: [{ Alphabetic: 'Profile^Patient' }] },
    });
    const r = run(file);
    expect(reasons(r.verdict)).toEqual([]);
    const v = r.tampered({ [TAG.DeidentificationMethod]: { vr: 'LO', Value: ['Profile Patient'] } });
    expect(reasons(v)).toContain(
      `marking: ${formatTag(TAG.DeidentificationMethod)} is not the marking the profile writes`,
    );
  });
});

describe('PS3.15 table findings', () => {
  it('replaces Person Identification Code Sequence (D) with one dummy code, never the person codes', () => {
    const file = withElements({
      [TAG.OperatorIdentificationSequence]: {
        vr: 'SQ',
        Value: [
          {
            [TAG.PersonIdentificationCodeSequence]: {
              vr: 'SQ',
              Value: [CODE('EMP4711', 'Operator Erika Mustermann')],
            },
          },
        ],
      },
    });
    const r = run(file);
    const operator = r.written.dict[TAG.OperatorIdentificationSequence];
    const text = JSON.stringify(r.written.dict);
    expect(text).not.toContain('EMP4711');
    expect(text).not.toContain('Mustermann');
    if (operator) {
      const codes = ((operator.Value![0] as Dataset)[TAG.PersonIdentificationCodeSequence]!.Value ??
        []) as Dataset[];
      expect(codes.map((c) => str(c[TAG.CodeValue]))).toEqual(['REMOVED']);
    }
    expect(reasons(r.verdict)).toEqual([]);
  });

  it('replaces Institution Code Sequence (D) with the dummy code when the IOD needs a value', () => {
    // At the top level the default profile resolves X/Z/D by the IOD type; nested it takes the
    // stronger X. The D path is checked through the gate on a tampered output.
    const file = withElements({
      [TAG.InstitutionCodeSequence]: { vr: 'SQ', Value: [CODE('HOSP123', 'Klinikum Beispielstadt')] },
    });
    const r = run(file);
    expect(JSON.stringify(r.written.dict)).not.toContain('Beispielstadt');
    expect(reasons(r.verdict)).toEqual([]);
  });

  it('refuses an output whose SR content still holds the original items', () => {
    const item: Dataset = {
      [TAG.ValueType]: { vr: 'CS', Value: ['TEXT'] },
      [TAG.TextValue]: { vr: 'UT', Value: ['Seen by Dr Jane Roe'] },
    };
    const file = withElements({ [TAG.ContentSequence]: { vr: 'SQ', Value: [item] } });
    const r = run(file);
    expect(reasons(r.verdict)).toEqual([]);
    expect(JSON.stringify(r.written.dict)).not.toContain('Jane Roe');
    const v = r.tampered({ [TAG.ContentSequence]: { vr: 'SQ', Value: [item] } });
    expect(reasons(v)).toContain(
      `conformance: ${formatTag(TAG.ContentSequence)} is not a dummy that replaces it whole (one item at most, nothing of the original's items)`,
    );
  });

  it('writes free text that Retain Patient Characteristics marks C empty by default, cleaned on opt-in', () => {
    const file = withElements({
      [TAG.Allergies]: { vr: 'LO', Value: ['Penicillin (told by wife Jane Roe)'] }, // Allergies
      [TAG.SpecialNeeds]: { vr: 'LO', Value: ['Wheelchair, call Jane Roe'] }, // SpecialNeeds
    });
    const r = run(file);
    expect(str(r.written.dict[TAG.Allergies])).toBe('');
    expect(str(r.written.dict[TAG.SpecialNeeds])).toBe('');
    expect(reasons(r.verdict)).toEqual([]);
    const kept = r.tampered({ [TAG.Allergies]: { vr: 'LO', Value: ['Penicillin (told by wife Jane Roe)'] } });
    expect(reasons(kept)).toContain(
      `conformance: ${formatTag(TAG.Allergies)} free text should be empty (no Clean option asks to keep it)`,
    );
    const optIn = run(file, { retainedFreeText: 'clean' });
    expect(str(optIn.written.dict[TAG.Allergies])).toBe('Penicillin (told by wife Jane Roe)');
    expect(reasons(optIn.verdict)).toEqual([]);
  });

  it('keeps Timezone Offset From UTC only in the +HHMM/-HHMM form', () => {
    for (const [given, kept] of [
      ['+0100', '+0100'],
      ['-0530', '-0530'],
      ['+1400', '+1400'],
      ['+2500', ''],
      ['DOE^JOHN', ''],
      ['+01:00', ''],
    ] as const) {
      const r = run(withElements({ [TAG.TimezoneOffsetFromUTC]: { vr: 'SH', Value: [given] } }));
      expect({ given, out: str(r.written.dict[TAG.TimezoneOffsetFromUTC]) }).toEqual({ given, out: kept });
      expect(reasons(r.verdict)).toEqual([]);
    }
    const r = run(withElements({ [TAG.TimezoneOffsetFromUTC]: { vr: 'SH', Value: ['DOE JOHN'] } }));
    const v = r.tampered({ [TAG.TimezoneOffsetFromUTC]: { vr: 'SH', Value: ['DOE JOHN'] } });
    expect(reasons(v)).toContain(
      `conformance: ${formatTag(TAG.TimezoneOffsetFromUTC)} is not a +HHMM/-HHMM offset kept as it was, nor empty`,
    );
  });
});

describe('quarantine reasons at a glance', () => {
  it('groups reasons by check and element, with item indexes, IDs and the tail of further failures taken out', () => {
    const summary = summarizeReasons([
      {
        check: 'residual-phi',
        reason: `residual-phi: ${formatTag(TAG.ProcedureCodeSequence)}[0].${formatTag(TAG.CodeMeaning)} holds the original's person name`,
      },
      {
        check: 'residual-phi',
        reason: `residual-phi: ${formatTag(TAG.ProcedureCodeSequence)}[3].${formatTag(TAG.CodeMeaning)} holds the original's person name (+1 more: residual-phi: ${formatTag(TAG.BodyPartExamined)} x)`,
      },
      {
        check: 'study',
        reason:
          'study: the same SOP Instance UID is in another source study (072ddde2-1403ac22-aef82256-44fbed5a-b7d2ddf9), already carried',
      },
    ]);
    expect(summary).toEqual([
      {
        check: 'residual-phi',
        reason: `residual-phi: ${formatTag(TAG.ProcedureCodeSequence)}[n].${formatTag(TAG.CodeMeaning)} holds the original's person name`,
        count: 2,
      },
      {
        check: 'study',
        reason: 'study: the same SOP Instance UID is in another source study (<id>), already carried',
        count: 1,
      },
    ]);
    expect(reasonGroup(`conformance: ${formatTag(TAG.Allergies)} free text should be empty`)).toBe(
      `conformance: ${formatTag(TAG.Allergies)} free text should be empty`,
    );
  });
});
