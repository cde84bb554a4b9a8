import { itemPath } from '../dicom/iods';
import { IDENTITY_SEQUENCE_TAGS, IDENTITY_TAGS } from './identityKinds';
import { formatTag } from '../dicom/tags';
import { CLEANABLE_TEXT_VRS } from './clean';
import { DICOM_UID_ROOT } from '../dicom/syntaxes';
import { decide, isPrivateTag, type DeidProfile } from './profile';
import { keptPrivateTags } from './safePrivate';
import type { Dataset } from './types';
import { BINARY_VRS, CODED_OR_NUMERIC_VRS } from '../dicom/vr';
import { TAG } from '../dicom/tags';

const MIN_LENGTH = 4;
const PATIENT_NAME_KIND = 'patient name component';

/** The kind of identity an element's values are, or undefined for a descriptive element. */
function identityKind(tag: string, vr: string): string | undefined {
  if (tag === TAG.PatientName) return PATIENT_NAME_KIND;
  if (vr === 'PN') return 'person name';
  if (vr === 'UI') return 'original UID';
  return IDENTITY_TAGS.get(tag);
}

export interface IdentifyingValues {
  /** Every value of at least four characters, for cleaning text (identity and descriptive values). */
  readonly values: string[];
  /** Shorter parts of person names (two or three characters), searched for as whole words. */
  readonly words: string[];
  /**
   * Values that identify a person, a place or a device, by the kind of value (for reasons): they
   * may appear nowhere in the output, kept elements included.
   */
  readonly identity: ReadonlyMap<string, string>;
  /**
   * Values the profile removes out of caution (descriptions, comments, codes, private values), by
   * the kind of value: their text in the output is a leak only where the original did not carry
   * it in the same place.
   */
  readonly descriptive: ReadonlyMap<string, string>;
}

/**
 * The values of the original that the profile removes or replaces: names and their components,
 * IDs, dates, addresses, UIDs, free text, and everything in private groups. Not included: what the
 * profile keeps (K, an override's keep) and text it keeps cleaned (C on a text element).
 */
export function identifyingValues(dict: Dataset, profile: DeidProfile, sopClass: string): IdentifyingValues {
  const identity = new Map<string, string>();
  const descriptive = new Map<string, string>();
  const words = new Set<string>();
  const add = (raw: string, kind: string | undefined, label: string): void => {
    const v = raw.replace(/\0/g, '').trim();
    if (v.length < MIN_LENGTH) return;
    if (kind !== undefined) {
      // The patient's own name wins when a value is both (a physician with the patient's family name).
      if (!identity.has(v) || kind === PATIENT_NAME_KIND) identity.set(v, kind);
      descriptive.delete(v);
    } else if (!identity.has(v) && !descriptive.has(v)) descriptive.set(v, label);
  };
  const visit = (ds: Dataset, parents: readonly string[], inherited: string | undefined): void => {
    const keptPrivate = keptPrivateTags(ds, profile);
    for (const [tag, el] of Object.entries(ds)) {
      if (keptPrivate.has(tag)) continue; // kept by Retain Safe Private: not identifying by the dictionary
      if (el.vr === 'SQ') {
        const kind = inherited ?? IDENTITY_SEQUENCE_TAGS.get(tag);
        for (const item of el.Value ?? [])
          visit(item as Dataset, itemPath(parents, tag, item as Dataset), kind);
        continue;
      }
      const isPrivate = isPrivateTag(tag);
      const { action } = isPrivate ? { action: 'X' } : decide(tag, profile, sopClass, parents);
      const identifying =
        isPrivate ||
        tag === TAG.PatientID ||
        tag === TAG.PatientName ||
        (action !== 'K' && !(action === 'C' && (el.vr === 'TM' || CLEANABLE_TEXT_VRS.has(el.vr))));
      if (!identifying || tag === TAG.PixelData || CODED_OR_NUMERIC_VRS.has(el.vr)) continue;
      const kind = inherited ?? identityKind(tag, el.vr);
      const label = isPrivate ? 'a private value' : `text removed from ${formatTag(tag)}`;
      for (const value of el.Value ?? []) {
        if (typeof value === 'string') {
          // A UID that names a class (SOP class, coding scheme) identifies nobody.
          if (el.vr === 'UI' && value.startsWith(DICOM_UID_ROOT)) continue;
          add(value, kind, label);
          if (el.vr === 'LO' || el.vr === 'SH') value.split(/[\\]/).forEach((v) => add(v, kind, label));
        } else if (value && typeof value === 'object' && el.vr === 'PN') {
          for (const part of Object.values(value as Record<string, unknown>)) {
            if (typeof part !== 'string') continue;
            add(part, kind, label);
            for (const piece of part.split(/[\^=\s]/)) {
              add(piece, kind, label);
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
            .forEach((v) => add(v, kind, label));
        }
      }
    }
  };
  visit(dict, [], undefined);
  return {
    values: [...identity.keys(), ...descriptive.keys()],
    words: [...words],
    identity,
    descriptive,
  };
}
