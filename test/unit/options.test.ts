import { parseDicom, writeDicom } from '../../src/dicom/file';
import { deidentify } from '../../src/deid/engine';
import { BASIC_OPTIONS, safePrivateSet, type TagOverride } from '../../src/deid/profile';
import type { Dataset } from '../../src/deid/types';
import { verifyInstance } from '../../src/verify/instance';
import { ctSlice, testContext } from '../helpers/samples';
import { str } from '../../src/dicom/values';
import { TAG, tagOf } from '../../src/dicom/tags';
import { SOP_CLASS } from '../../src/dicom/sopClasses';

function withElements(extra: Dataset, sopClass?: string) {
  const { file } = ctSlice();
  const dict = { ...file.dict, ...extra };
  if (sopClass) dict[TAG.SOPClassUID] = { vr: 'UI', Value: [sopClass] };
  return parseDicom(writeDicom({ meta: file.meta, dict }));
}

function run(file: ReturnType<typeof withElements>, profile: Parameters<typeof testContext>[0]) {
  const ctx = testContext(profile);
  const result = deidentify(file, ctx);
  const written = parseDicom(writeDicom(result.file));
  return { out: written.dict, verdict: verifyInstance(file, written, ctx, result.patient) };
}

describe('Clean Descriptors, Structured Content and Graphics', () => {
  const name = (file: ReturnType<typeof withElements>) => str(file.dict[TAG.PatientName]).split('^')[0]!;

  it('keeps a description, scrubbed of the patient name, IDs and dates found in it', () => {
    const plain = ctSlice().file;
    const family = str(plain.dict[TAG.PatientName]).split('^')[0]!;
    const id = str(plain.dict[TAG.PatientID]);
    const file = withElements({
      [TAG.StudyDescription]: { vr: 'LO', Value: [`CT chest ${family} ${id} 07.05.2023`] },
    });
    expect(name(file)).toBe(family);
    const basic = run(file, { options: BASIC_OPTIONS });
    expect(basic.out[TAG.StudyDescription]).toBeUndefined(); // X under the basic profile
    const cleaned = run(file, { options: { ...BASIC_OPTIONS, cleanDescriptors: true } });
    expect(str(cleaned.out[TAG.StudyDescription])).toBe('CT chest * * *');
    expect(cleaned.verdict.failures).toEqual([]);
    expect(str(cleaned.out[TAG.DeidentificationMethodCodeSequence] && { vr: 'SQ', Value: [] })).toBe('');
  });

  it('replaces SR content with one dummy TEXT item without the option and keeps it cleaned with it', () => {
    const family = str(ctSlice().file.dict[TAG.PatientName]).split('^')[0]!;
    const content: Dataset = {
      [TAG.ContentSequence]: {
        vr: 'SQ',
        Value: [
          {
            [TAG.ValueType]: { vr: 'CS', Value: ['TEXT'] },
            [TAG.TextValue]: { vr: 'UT', Value: [`Findings for ${family}: no nodule`] },
            [TAG.PersonName]: { vr: 'PN', Value: [{ Alphabetic: 'Reader^Some' }] },
          },
        ],
      },
    };
    const file = withElements(content);
    const basic = run(file, { options: BASIC_OPTIONS });
    const dummy = (basic.out[TAG.ContentSequence]?.Value ?? []) as Dataset[];
    expect(dummy).toHaveLength(1);
    expect(str(dummy[0]![TAG.ValueType])).toBe('TEXT');
    expect(str(dummy[0]![TAG.TextValue])).toBe('Removed by de-identification');
    expect(JSON.stringify(dummy)).not.toContain(family);
    expect(JSON.stringify(dummy)).not.toContain('Reader');
    expect(basic.verdict.failures).toEqual([]);
    const cleaned = run(file, { options: { ...BASIC_OPTIONS, cleanStructuredContent: true } });
    const item = cleaned.out[TAG.ContentSequence]!.Value![0] as Dataset;
    expect(str(item[TAG.TextValue])).toBe('Findings for *: no nodule');
    expect(str(item[TAG.PersonName])).not.toContain('Reader'); // PersonName: D inside, as the table says
    expect(cleaned.verdict.failures).toEqual([]);
  });

  it('keeps graphic annotation text cleaned under Clean Graphics and drops overlay bitmaps', () => {
    const id = str(ctSlice().file.dict[TAG.PatientID]);
    const file = withElements({
      [TAG.GraphicAnnotationSequence]: {
        vr: 'SQ',
        Value: [
          {
            [TAG.TextObjectSequence]: {
              vr: 'SQ',
              Value: [{ [TAG.UnformattedTextValue]: { vr: 'ST', Value: [`Nodule (ID ${id})`] } }],
            },
          },
        ],
      },
      [tagOf(0x6000, 0x3000)]: { vr: 'OW', Value: [new Uint8Array(8).fill(0xff).buffer] },
      [tagOf(0x6000, 0x4000)]: { vr: 'LT', Value: ['overlay for review'] },
    });
    const { out, verdict } = run(file, { options: { ...BASIC_OPTIONS, cleanGraphics: true } });
    const annotation = out[TAG.GraphicAnnotationSequence]!.Value![0] as Dataset;
    const textObject = annotation[TAG.TextObjectSequence]!.Value![0] as Dataset;
    expect(str(textObject[TAG.UnformattedTextValue])).toBe('Nodule (ID *)');
    expect(out[tagOf(0x6000, 0x3000)]).toBeUndefined();
    expect(str(out[tagOf(0x6000, 0x4000)])).toBe('overlay for review');
    expect(verdict.failures).toEqual([]);
  });
});

describe('profile overrides', () => {
  const overrides = (o: Record<string, TagOverride>) => new Map(Object.entries(o));

  it('keeps, removes, empties and replaces as the admin configured, and the gate agrees', () => {
    const file = withElements({
      [TAG.InstitutionName]: { vr: 'LO', Value: ['Site Hospital'] },
      [TAG.SeriesDescription]: { vr: 'LO', Value: ['Series text'] },
      [TAG.BodyPartExamined]: { vr: 'CS', Value: ['CHEST'] },
      [TAG.StudyID]: { vr: 'SH', Value: ['STUDY1'] },
    });
    const { out, verdict } = run(file, {
      overrides: overrides({
        [TAG.InstitutionName]: { action: 'keep', allowIdentifying: true },
        [TAG.SeriesDescription]: { action: 'replace', value: 'RESEARCH SERIES' },
        [TAG.BodyPartExamined]: { action: 'remove' },
        [TAG.StudyID]: { action: 'empty' },
      }),
    });
    expect(str(out[TAG.InstitutionName])).toBe('Site Hospital');
    expect(str(out[TAG.SeriesDescription])).toBe('RESEARCH SERIES');
    expect(out[TAG.BodyPartExamined]).toBeUndefined();
    expect((out[TAG.StudyID]?.Value ?? []).every((v) => v === '')).toBe(true);
    expect(verdict.failures).toEqual([]);
  });
});

describe('combined codes by the IOD attribute type', () => {
  it('gives a dummy for a Type 1 attribute, empties a Type 2 one and removes a Type 3 one', () => {
    const elements: Dataset = {
      [TAG.DeviceSerialNumber]: { vr: 'LO', Value: ['SN-778899'] }, // X/Z/D DeviceSerialNumber
      [TAG.ContentDate]: { vr: 'DA', Value: ['20230507'] }, // Z/D ContentDate
      [TAG.AcquisitionContextSequence]: {
        vr: 'SQ',
        Value: [{ [TAG.CodeValue]: { vr: 'SH', Value: ['X1'] } }],
      }, // X/Z
    };
    const options = { options: BASIC_OPTIONS };
    const enhancedCt = run(withElements(elements, SOP_CLASS.EnhancedCTImageStorage), options);
    expect(str(enhancedCt.out[TAG.DeviceSerialNumber])).toBe('ANONYMIZED'); // Type 1 in Enhanced General Equipment
    expect(str(enhancedCt.out[TAG.ContentDate])).toBe('19000101'); // Type 1 in Multi-frame Functional Groups
    expect(enhancedCt.out[TAG.AcquisitionContextSequence]?.Value).toEqual([]); // Type 2 in Acquisition Context (M)
    const mammo = run(
      withElements(elements, SOP_CLASS.DigitalMammographyXRayImageStorageForPresentation),
      options,
    );
    expect(mammo.out[TAG.DeviceSerialNumber]).toBeUndefined(); // Type 3 in General Equipment
    expect((mammo.out[TAG.ContentDate]?.Value ?? []).every((v) => v === '')).toBe(true); // Type 2C: empty
    expect(mammo.out[TAG.AcquisitionContextSequence]?.Value).toEqual([]); // Type 2 in Acquisition Context
    // An IOD the generated tables do not know: the table's stronger action, X.
    const unknown = run(withElements(elements, SOP_CLASS.EncapsulatedSTLStorage), options);
    expect(unknown.out[TAG.DeviceSerialNumber]).toBeUndefined();
    expect(unknown.out[TAG.AcquisitionContextSequence]).toBeUndefined();
    expect(enhancedCt.verdict.failures).toEqual([]);
    expect(mammo.verdict.failures).toEqual([]);
    expect(unknown.verdict.failures).toEqual([]);
  });
});

describe('Retain Safe Private', () => {
  it('keeps the dictionary elements with their creator and removes every other private element', () => {
    const file = withElements({
      [tagOf(0x0019, 0x0010)]: { vr: 'LO', Value: ['GEMS_ACQU_01'] },
      [tagOf(0x0019, 0x1023)]: { vr: 'DS', Value: ['39.37'] }, // table speed: in the dictionary
      [tagOf(0x0019, 0x1024)]: { vr: 'DS', Value: ['5.5'] }, // mid scan time: in the dictionary
      [tagOf(0x0019, 0x1010)]: { vr: 'LO', Value: ['not listed'] },
      [tagOf(0x0029, 0x0010)]: { vr: 'LO', Value: ['ACME 1.0'] },
      [tagOf(0x0029, 0x1010)]: { vr: 'LO', Value: ['site extension'] },
    });
    const options = { ...BASIC_OPTIONS, retainSafePrivate: true };
    const plain = run(file, { options });
    expect(Object.keys(plain.out).filter((t) => t.startsWith('0019') || t.startsWith('0029'))).toEqual([
      tagOf(0x0019, 0x0010),
      tagOf(0x0019, 0x1023),
      tagOf(0x0019, 0x1024),
    ]);
    expect(plain.verdict.failures).toEqual([]);
    const extended = run(file, {
      options,
      safePrivate: safePrivateSet([{ creator: 'ACME 1.0', group: 0x29, element: 0x10 }]),
    });
    expect(str(extended.out[tagOf(0x0029, 0x1010)])).toBe('site extension');
    expect(extended.verdict.failures).toEqual([]);
  });
});
