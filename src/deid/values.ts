import { BINARY_NUMBER_VRS, BINARY_VRS } from '../dicom/vr';

/** Value helpers for the engine: dummies per VR and date shifting. Pure functions. */

/** The dummy date of a D on a date (1 January 1900): a value known not to identify. */
const DUMMY_DATE = '19000101';

/** A non-identifying value valid for the VR, used for D ("replace with a dummy"). */
export function dummyValue(vr: string, original: unknown[] | undefined): unknown[] {
  switch (vr) {
    case 'PN':
      return [{ Alphabetic: 'ANONYMIZED' }];
    case 'DA':
      return [DUMMY_DATE];
    case 'TM':
      return ['000000'];
    case 'DT':
      return [`${DUMMY_DATE}000000`];
    case 'AS':
      return ['000D'];
    case 'DS':
    case 'IS':
      return ['0'];
    case 'CS':
      return ['ANONYMIZED'];
    case 'AE':
    case 'SH':
    case 'LO':
    case 'ST':
    case 'LT':
    case 'UT':
    case 'UC':
      return ['ANONYMIZED'];
    case 'UR':
      return ['http://example.invalid/'];
    case 'SQ':
      return [];
    default:
      if (BINARY_NUMBER_VRS.has(vr) || vr === 'AT') return [0]; // AT: the tag (0000,0000)
      if (BINARY_VRS.has(vr)) {
        const first = original?.[0];
        const length = first instanceof ArrayBuffer ? first.byteLength : 2;
        return [new ArrayBuffer(Math.max(2, length + (length % 2)))];
      }
      return [];
  }
}

const DAY_MS = 86_400_000;

/** Shifts a DA value (YYYYMMDD) by whole days; returns undefined when the value is not a full date. */
export function shiftDate(value: string, days: number): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value.trim());
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const start = new Date(Date.UTC(y, mo - 1, d));
  // Date.UTC rolls 20230231 over to March: such a value is not a date, so it is not shifted.
  if (start.getUTCFullYear() !== y || start.getUTCMonth() !== mo - 1 || start.getUTCDate() !== d)
    return undefined;
  const out = new Date(start.getTime() + days * DAY_MS);
  return (
    String(out.getUTCFullYear()).padStart(4, '0') +
    String(out.getUTCMonth() + 1).padStart(2, '0') +
    String(out.getUTCDate()).padStart(2, '0')
  );
}

/** Shifts the date part of a DT value, keeping time and UTC offset; undefined without a full date. */
export function shiftDateTime(value: string, days: number): string | undefined {
  const v = value.trim();
  const shifted = shiftDate(v.slice(0, 8), days);
  return shifted === undefined ? undefined : shifted + v.slice(8);
}
