import { isPrivateTag, resolveAction, rowForTag } from '../deid/profile';
import type { ProfileOptions, Dataset } from '../deid/types';
import { BINARY_VRS } from '../deid/values';

const TAG_PATIENT_ID = '00100020';
const TAG_PATIENT_NAME = '00100010';
const PIXEL_DATA = '7FE00010';
// Coded strings are enumerated terms (YES, M, ORIGINAL...), and numbers are measurements:
// neither identifies anyone, and searching for them would flag every output.
const NOT_SEARCHED_VRS = new Set([
  'CS',
  'US',
  'SS',
  'UL',
  'SL',
  'FL',
  'FD',
  'UV',
  'SV',
  'AT',
  'SQ',
  'IS',
  'DS',
]);
const MIN_LENGTH = 4;

/**
 * The values of the original that the profile removes or replaces: names and their components,
 * IDs, dates, addresses, UIDs, free text, and everything in private groups.
 */
export function identifyingValues(dict: Dataset, options: Readonly<ProfileOptions>): string[] {
  const found = new Set<string>();
  const add = (raw: string): void => {
    const v = raw.replace(/\0/g, '').trim();
    if (v.length >= MIN_LENGTH) found.add(v);
  };
  const visit = (ds: Dataset): void => {
    for (const [tag, el] of Object.entries(ds)) {
      if (el.vr === 'SQ') {
        for (const item of el.Value ?? []) visit(item as Dataset);
        continue;
      }
      const row = rowForTag(tag);
      const action = row ? resolveAction(row, options) : 'K';
      const identifying =
        isPrivateTag(tag) ||
        tag === TAG_PATIENT_ID ||
        tag === TAG_PATIENT_NAME ||
        (action !== 'K' && !(action === 'C' && el.vr === 'TM'));
      if (!identifying || tag === PIXEL_DATA || NOT_SEARCHED_VRS.has(el.vr)) continue;
      for (const value of el.Value ?? []) {
        if (typeof value === 'string') {
          add(value);
          if (el.vr === 'LO' || el.vr === 'SH') value.split(/[\\]/).forEach(add);
        } else if (value && typeof value === 'object' && el.vr === 'PN') {
          for (const part of Object.values(value as Record<string, unknown>)) {
            if (typeof part !== 'string') continue;
            add(part);
            part.split(/[\^=]/).forEach(add);
          }
        } else if (value instanceof ArrayBuffer && BINARY_VRS.has(el.vr) && value.byteLength <= 1024) {
          // Short binary values are often text in disguise: a private LO read as UN from an
          // implicit-VR file. Their printable runs are searched for like any other text.
          Buffer.from(value)
            .toString('latin1')
            .split(/[^\x20-\x5b\x5d-\x7e]+/)
            .forEach(add);
        }
      }
    }
  };
  visit(dict);
  return [...found];
}
