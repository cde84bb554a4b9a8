import { parseDicom, writeDicom } from '../../src/deid/dicom';
import { deidentify } from '../../src/deid/engine';
import { BASIC_OPTIONS, safePrivateSet, type TagOverride } from '../../src/deid/profile';
import type { Dataset } from '../../src/deid/types';
import { verifyInstance } from '../../src/verify/instance';
import { ctSlice, testContext } from '../helpers/samples';
import { str } from '../../src/dicom/values';

function withElements(extra: Dataset, sopClass?: string) {
  const { file } = ctSlice();
  const dict = { ...file.dict, ...extra };
  if (sopClass) dict['00080016'] = { vr: 'UI', Value: [sopClass] };
  return parseDicom(writeDicom({ meta: file.meta, dict }));
}

function run(file: ReturnType<typeof withElements>, profile: Parameters<typeof testContext>[0]) {
  const ctx = testContext(profile);
  const result = deidentify(file, ctx);
  const written = parseDicom(writeDicom(result.file));
  return { out: written.dict, verdict: verifyInstance(file, written, ctx, result.patient) };
}

describe('Clean Descriptors, Structured Content and Graphics', () => {
  const name = (file: ReturnType<typeof withElements>) => str(file.dict['00100010']).split('^')[0]!;

  it('keeps a description, scrubbed of the patient name, IDs and dates found in it', () => {
    const plain = ctSlice().file;
    const family = str(plain.dict['00100010']).split('^')[0]!;
    const id = str(plain.dict['00100020']);
    const file = withElements({
      '00081030': { vr: 'LO', Value: [`CT chest ${family} ${id} 07.05.2023`] },
    });
    expect(name(file)).toBe(family);
    const basic = run(file, { options: BASIC_OPTIONS });
    expect(basic.out['00081030']).toBeUndefined(); // X under the basic profile
    const cleaned = run(file, { options: { ...BASIC_OPTIONS, cleanDescriptors: true } });
    expect(str(cleaned.out['00081030'])).toBe('CT chest * * *');
    expect(cleaned.verdict.failures).toEqual([]);
    expect(str(cleaned.out['00120064'] && { vr: 'SQ', Value: [] })).toBe('');
  });

  it('replaces SR content with one dummy TEXT item without the option and keeps it cleaned with it', () => {
    const family = str(ctSlice().file.dict['00100010']).split('^')[0]!;
    const content: Dataset = {
      '0040A730': {
        vr: 'SQ',
        Value: [
          {
            '0040A040': { vr: 'CS', Value: ['TEXT'] },
            '0040A160': { vr: 'UT', Value: [`Findings for ${family}: no nodule`] },
            '0040A123': { vr: 'PN', Value: [{ Alphabetic: 'Reader^Some' }] },
          },
        ],
      },
    };
    const file = withElements(content);
    const basic = run(file, { options: BASIC_OPTIONS });
    const dummy = (basic.out['0040A730']?.Value ?? []) as Dataset[];
    expect(dummy).toHaveLength(1);
    expect(str(dummy[0]!['0040A040'])).toBe('TEXT');
    expect(str(dummy[0]!['0040A160'])).toBe('Removed by de-identification');
    expect(JSON.stringify(dummy)).not.toContain(family);
    expect(JSON.stringify(dummy)).not.toContain('Reader');
    expect(basic.verdict.failures).toEqual([]);
    const cleaned = run(file, { options: { ...BASIC_OPTIONS, cleanStructuredContent: true } });
    const item = cleaned.out['0040A730']!.Value![0] as Dataset;
    expect(str(item['0040A160'])).toBe('Findings for *: no nodule');
    expect(str(item['0040A123'])).not.toContain('Reader'); // PersonName: D inside, as the table says
    expect(cleaned.verdict.failures).toEqual([]);
  });

  it('keeps graphic annotation text cleaned under Clean Graphics and drops overlay bitmaps', () => {
    const id = str(ctSlice().file.dict['00100020']);
    const file = withElements({
      '00700001': {
        vr: 'SQ',
        Value: [
          {
            '00700008': {
              vr: 'SQ',
              Value: [{ '00700006': { vr: 'ST', Value: [`Nodule (ID ${id})`] } }],
            },
          },
        ],
      },
      '60003000': { vr: 'OW', Value: [new Uint8Array(8).fill(0xff).buffer] },
      '60004000': { vr: 'LT', Value: ['overlay for review'] },
    });
    const { out, verdict } = run(file, { options: { ...BASIC_OPTIONS, cleanGraphics: true } });
    const annotation = out['00700001']!.Value![0] as Dataset;
    const textObject = annotation['00700008']!.Value![0] as Dataset;
    expect(str(textObject['00700006'])).toBe('Nodule (ID *)');
    expect(out['60003000']).toBeUndefined();
    expect(str(out['60004000'])).toBe('overlay for review');
    expect(verdict.failures).toEqual([]);
  });
});

describe('profile overrides', () => {
  const overrides = (o: Record<string, TagOverride>) => new Map(Object.entries(o));

  it('keeps, removes, empties and replaces as the admin configured, and the gate agrees', () => {
    const file = withElements({
      '00080080': { vr: 'LO', Value: ['Site Hospital'] },
      '0008103E': { vr: 'LO', Value: ['Series text'] },
      '00180015': { vr: 'CS', Value: ['CHEST'] },
      '00200010': { vr: 'SH', Value: ['STUDY1'] },
    });
    const { out, verdict } = run(file, {
      overrides: overrides({
        '00080080': { action: 'keep', allowIdentifying: true },
        '0008103E': { action: 'replace', value: 'RESEARCH SERIES' },
        '00180015': { action: 'remove' },
        '00200010': { action: 'empty' },
      }),
    });
    expect(str(out['00080080'])).toBe('Site Hospital');
    expect(str(out['0008103E'])).toBe('RESEARCH SERIES');
    expect(out['00180015']).toBeUndefined();
    expect((out['00200010']?.Value ?? []).every((v) => v === '')).toBe(true);
    expect(verdict.failures).toEqual([]);
  });
});

describe('combined codes by the IOD attribute type', () => {
  it('gives a dummy for a Type 1 attribute, empties a Type 2 one and removes a Type 3 one', () => {
    const elements: Dataset = {
      '00181000': { vr: 'LO', Value: ['SN-778899'] }, // X/Z/D DeviceSerialNumber
      '00080023': { vr: 'DA', Value: ['20230507'] }, // Z/D ContentDate
      '00400555': { vr: 'SQ', Value: [{ '00080100': { vr: 'SH', Value: ['X1'] } }] }, // X/Z
    };
    const options = { options: BASIC_OPTIONS };
    const enhancedCt = run(withElements(elements, '1.2.840.10008.5.1.4.1.1.2.1'), options);
    expect(str(enhancedCt.out['00181000'])).toBe('ANONYMIZED'); // Type 1 in Enhanced General Equipment
    expect(str(enhancedCt.out['00080023'])).toBe('19000101'); // Type 1 in Multi-frame Functional Groups
    expect(enhancedCt.out['00400555']).toBeUndefined(); // unknown for this IOD: the stronger X
    const mammo = run(withElements(elements, '1.2.840.10008.5.1.4.1.1.1.2'), options);
    expect(mammo.out['00181000']).toBeUndefined(); // Type 3 in General Equipment
    expect((mammo.out['00080023']?.Value ?? []).every((v) => v === '')).toBe(true); // Type 2C: empty
    expect(mammo.out['00400555']?.Value).toEqual([]); // Type 2 in Acquisition Context
    expect(enhancedCt.verdict.failures).toEqual([]);
    expect(mammo.verdict.failures).toEqual([]);
  });
});

describe('Retain Safe Private', () => {
  it('keeps the dictionary elements with their creator and removes every other private element', () => {
    const file = withElements({
      '00190010': { vr: 'LO', Value: ['GEMS_ACQU_01'] },
      '00191023': { vr: 'DS', Value: ['39.37'] }, // table speed: in the dictionary
      '00191024': { vr: 'DS', Value: ['5.5'] }, // mid scan time: in the dictionary
      '00191010': { vr: 'LO', Value: ['not listed'] },
      '00290010': { vr: 'LO', Value: ['ACME 1.0'] },
      '00291010': { vr: 'LO', Value: ['site extension'] },
    });
    const options = { ...BASIC_OPTIONS, retainSafePrivate: true };
    const plain = run(file, { options });
    expect(Object.keys(plain.out).filter((t) => t.startsWith('0019') || t.startsWith('0029'))).toEqual([
      '00190010',
      '00191023',
      '00191024',
    ]);
    expect(plain.verdict.failures).toEqual([]);
    const extended = run(file, {
      options,
      safePrivate: safePrivateSet([{ creator: 'ACME 1.0', group: 0x29, element: 0x10 }]),
    });
    expect(str(extended.out['00291010'])).toBe('site extension');
    expect(extended.verdict.failures).toEqual([]);
  });
});
