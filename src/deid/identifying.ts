import { CLEANABLE_TEXT_VRS } from './clean';
import { decide, isPrivateTag, type DeidProfile } from './profile';
import { keptPrivateTags } from './safePrivate';
import type { Dataset } from './types';
import { BINARY_VRS } from './vr';

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

export interface IdentifyingValues {
  /** Values of at least four characters, searched for anywhere. */
  readonly values: string[];
  /** Shorter parts of person names (two or three characters), searched for as whole words. */
  readonly words: string[];
}

/**
 * The values of the original that the profile removes or replaces: names and their components,
 * IDs, dates, addresses, UIDs, free text, and everything in private groups. Not included: what the
 * profile keeps (K, an override's keep) and text it keeps cleaned (C on a text element).
 */
export function identifyingValues(dict: Dataset, profile: DeidProfile, sopClass: string): IdentifyingValues {
  const found = new Set<string>();
  const words = new Set<string>();
  const add = (raw: string): void => {
    const v = raw.replace(/\0/g, '').trim();
    if (v.length >= MIN_LENGTH) found.add(v);
  };
  const visit = (ds: Dataset, depth: number): void => {
    const keptPrivate = keptPrivateTags(ds, profile);
    for (const [tag, el] of Object.entries(ds)) {
      if (keptPrivate.has(tag)) continue; // kept by Retain Safe Private: not identifying by the dictionary
      if (el.vr === 'SQ') {
        for (const item of el.Value ?? []) visit(item as Dataset, depth + 1);
        continue;
      }
      const { action } = isPrivateTag(tag) ? { action: 'X' } : decide(tag, profile, sopClass, depth);
      const identifying =
        isPrivateTag(tag) ||
        tag === TAG_PATIENT_ID ||
        tag === TAG_PATIENT_NAME ||
        (action !== 'K' && !(action === 'C' && (el.vr === 'TM' || CLEANABLE_TEXT_VRS.has(el.vr))));
      if (!identifying || tag === PIXEL_DATA || NOT_SEARCHED_VRS.has(el.vr)) continue;
      for (const value of el.Value ?? []) {
        if (typeof value === 'string') {
          add(value);
          if (el.vr === 'LO' || el.vr === 'SH') value.split(/[\\]/).forEach(add);
        } else if (value && typeof value === 'object' && el.vr === 'PN') {
          for (const part of Object.values(value as Record<string, unknown>)) {
            if (typeof part !== 'string') continue;
            add(part);
            for (const piece of part.split(/[\^=\s]/)) {
              add(piece);
              const p = piece.trim();
              if (p.length >= 2 && p.length < MIN_LENGTH) words.add(p);
            }
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
  visit(dict, 0);
  return { values: [...found], words: [...words] };
}
