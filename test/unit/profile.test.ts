import {
  BASIC_OPTIONS,
  DEFAULT_PROFILE,
  methodCodes,
  resolveAction,
  rowForTag,
} from '../../src/deid/profile';
import { PS315_TABLE, TABLE_REVISION } from '../../src/deid/table.generated';

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
    expect(rowForTag('50020010')?.name).toBe('Curve Data');
    expect(rowForTag('60023000')?.name).toBe('Overlay Data');
    expect(rowForTag('601E4000')?.name).toBe('Overlay Comments');
    expect(rowForTag('60020010')).toBeUndefined(); // overlay rows: not in the table, kept
    expect(rowForTag('00091001')?.name).toBe('Private Attributes');
    expect(rowForTag('00200013')).toBeUndefined(); // InstanceNumber is not in the table
  });
});

describe('resolveAction', () => {
  const row = (tag: string) => rowForTag(tag)!;

  it('takes the stronger action for combined codes', () => {
    expect(resolveAction(row('00081010'), BASIC_OPTIONS)).toBe('X'); // Station Name X/Z/D
    expect(resolveAction(row('00321060'), BASIC_OPTIONS)).toBe('X'); // X/Z
    expect(resolveAction(row('00100020'), BASIC_OPTIONS)).toBe('Z'); // Patient ID Z/D
  });

  it('keeps referenced-image sequences (X/Z/U*) so their UIDs can be remapped', () => {
    expect(resolveAction(row('00081140'), BASIC_OPTIONS)).toBe('U');
  });

  it('applies option columns only when the option is on', () => {
    expect(resolveAction(row('00080020'), BASIC_OPTIONS)).toBe('Z'); // Study Date
    expect(resolveAction(row('00080020'), DEFAULT_PROFILE.options)).toBe('C');
    expect(resolveAction(row('00080020'), { ...BASIC_OPTIONS, retainLongitudinalFullDates: true })).toBe('K');
    expect(resolveAction(row('00101010'), BASIC_OPTIONS)).toBe('X'); // Patient's Age
    expect(resolveAction(row('00101010'), DEFAULT_PROFILE.options)).toBe('K');
    expect(resolveAction(row('0020000D'), { ...BASIC_OPTIONS, retainUids: true })).toBe('K');
  });

  it('lists the basic profile and exactly the options that are on as CID 7050 codes', () => {
    expect(methodCodes(BASIC_OPTIONS)).toEqual(['113100']);
    expect(methodCodes(DEFAULT_PROFILE.options)).toEqual(['113100', '113108', '113107']);
  });
});
