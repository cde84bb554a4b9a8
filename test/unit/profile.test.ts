import {
  BASIC_OPTIONS,
  DEFAULT_PROFILE,
  methodCodes,
  resolveAction,
  rowForTag,
} from '../../src/deid/profile';
import { PS315_TABLE, TABLE_REVISION } from '../../src/deid/table.generated';
import { TAG, tagOf } from '../../src/dicom/tags';

describe('PS3.15 Table E.1-1 module', () => {
  it('holds all 621 rows of the 2024b table, wildcard rows included', () => {
    expect(TABLE_REVISION).toBe('2024b');
    expect(PS315_TABLE).toHaveLength(621);
    expect(
      PS315_TABLE.filter((r) => r.match.kind !== 'tag')
        .map((r) => r.tag)
        .sort(),
    ).toEqual(['(50XX,XXXX)', '(60XX,3000)', '(60XX,4000)', '(GGGG,EEEE) WHERE GGGG IS ODD']);
  });

  it('finds wildcard rows for curves, overlays and private tags', () => {
    expect(rowForTag(tagOf(0x5002, 0x0010))?.name).toBe('Curve Data');
    expect(rowForTag(tagOf(0x6002, 0x3000))?.name).toBe('Overlay Data');
    expect(rowForTag(tagOf(0x601e, 0x4000))?.name).toBe('Overlay Comments');
    expect(rowForTag(tagOf(0x6002, 0x0010))).toBeUndefined(); // overlay rows: not in the table, kept
    expect(rowForTag(tagOf(0x0009, 0x1001))?.name).toBe('Private Attributes');
    expect(rowForTag(TAG.InstanceNumber)).toBeUndefined(); // InstanceNumber is not in the table
  });
});

describe('resolveAction', () => {
  const row = (tag: string) => rowForTag(tag)!;

  it('takes the stronger action for combined codes', () => {
    expect(resolveAction(row(TAG.StationName), BASIC_OPTIONS)).toBe('X'); // Station Name X/Z/D
    expect(resolveAction(row(TAG.RequestedProcedureDescription), BASIC_OPTIONS)).toBe('X'); // X/Z
    expect(resolveAction(row(TAG.PatientID), BASIC_OPTIONS)).toBe('Z'); // Patient ID Z/D
  });

  it('keeps referenced-image sequences (X/Z/U*) so their UIDs can be remapped', () => {
    expect(resolveAction(row(TAG.ReferencedImageSequence), BASIC_OPTIONS)).toBe('U');
  });

  it('applies option columns only when the option is on', () => {
    expect(resolveAction(row(TAG.StudyDate), BASIC_OPTIONS)).toBe('Z'); // Study Date
    expect(resolveAction(row(TAG.StudyDate), DEFAULT_PROFILE.options)).toBe('C');
    expect(resolveAction(row(TAG.StudyDate), { ...BASIC_OPTIONS, retainLongitudinalFullDates: true })).toBe(
      'K',
    );
    expect(resolveAction(row(TAG.PatientAge), BASIC_OPTIONS)).toBe('X'); // Patient's Age
    expect(resolveAction(row(TAG.PatientAge), DEFAULT_PROFILE.options)).toBe('K');
    expect(resolveAction(row(TAG.StudyInstanceUID), { ...BASIC_OPTIONS, retainUids: true })).toBe('K');
  });

  it('lists the basic profile and exactly the options that are on as CID 7050 codes', () => {
    expect(methodCodes(BASIC_OPTIONS)).toEqual(['113100']);
    expect(methodCodes(DEFAULT_PROFILE.options)).toEqual(['113100', '113108', '113107']);
  });
});
