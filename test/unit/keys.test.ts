import { dateShiftFor, deriveKeys, mapUid, pseudonymFor } from '../../src/deid/keys';
import { TEST_SECRET } from '../helpers/samples';

const keys = deriveKeys(TEST_SECRET);

describe('keyed identifiers', () => {
  it('maps a UID to the same 2.25 UID every time, and different UIDs to different ones', () => {
    const a = mapUid(keys, '1.2.3.4.5');
    expect(a).toMatch(/^2\.25\.[1-9]\d{0,38}$/);
    expect(a.length).toBeLessThanOrEqual(64);
    expect(mapUid(keys, '1.2.3.4.5')).toBe(a);
    expect(mapUid(keys, '1.2.3.4.5\0')).toBe(a); // padding is not part of the UID
    expect(mapUid(keys, '1.2.3.4.6')).not.toBe(a);
  });

  it('gives another mapping under another secret', () => {
    expect(mapUid(deriveKeys('another-secret-of-enough-length'), '1.2.3')).not.toBe(mapUid(keys, '1.2.3'));
  });

  it('derives a pseudonym of at least 80 bits that does not reveal the ID length', () => {
    const p = pseudonymFor(keys, 'MRN1', 'HOSP');
    expect(p).toMatch(/^RB[A-Z2-7]{20}$/);
    expect(pseudonymFor(keys, 'MRN000000000000001', 'HOSP')).toHaveLength(p.length);
    expect(pseudonymFor(keys, 'MRN1', 'HOSP')).toBe(p);
    expect(pseudonymFor(keys, 'MRN1', 'OTHER')).not.toBe(p);
    expect(pseudonymFor(keys, 'MRN2', 'HOSP')).not.toBe(p);
  });

  it('keeps issuer and ID apart so they cannot run together', () => {
    expect(pseudonymFor(keys, '1', 'AB')).not.toBe(pseudonymFor(keys, 'B1', 'A'));
  });

  it('shifts dates by a non-zero number of days within the limit, the same for one patient', () => {
    const shifts = Array.from({ length: 200 }, (_, i) => dateShiftFor(keys, `P${i}`, '', 30));
    expect(shifts.every((s) => s !== 0 && Math.abs(s) <= 30)).toBe(true);
    expect(new Set(shifts).size).toBeGreaterThan(20);
    expect(shifts.some((s) => s < 0) && shifts.some((s) => s > 0)).toBe(true);
    expect(dateShiftFor(keys, 'P7', '', 30)).toBe(shifts[7]);
  });

  it('refuses a secret shorter than 16 bytes', () => {
    expect(() => deriveKeys('short')).toThrow(/at least 16 bytes/);
  });
});
