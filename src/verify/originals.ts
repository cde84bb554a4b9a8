/**
 * The gate's own list of what the original holds that may not reach research, read from the
 * original and the table (verify/table.ts), never from the engine: every value of an element the
 * table does not let the profile keep, each with the kind of value a quarantine reason names.
 */
import type { DeidProfile } from '../deid/profile';
import { IDENTITY_SEQUENCE_TAGS, IDENTITY_TAGS } from '../deid/identityKinds';
import type { Dataset, DicomElement } from '../dicom/dataset';
import { DICOM_UID_ROOT } from '../dicom/syntaxes';
import { formatTag, TAG } from '../dicom/tags';
import { BINARY_VRS, CODED_OR_NUMERIC_VRS } from '../dicom/vr';
import { allowedActions, isPrivate, rowOf } from './table';

/** Text a C keeps cleaned (the rest under C takes the basic action). */
export const CLEANED_VRS: ReadonlySet<string> = new Set(['AE', 'LO', 'LT', 'SH', 'ST', 'UC', 'UT']);

const SHORTEST = 4;
export const PATIENT_NAME_KIND = 'patient name component';

export interface OriginalValues {
  /** Values that identify a person, a place or a device, by kind: they may appear nowhere. */
  readonly identity: ReadonlyMap<string, string>;
  /** Descriptive values removed out of caution: a leak where the original did not hold them in the same place. */
  readonly descriptive: ReadonlyMap<string, string>;
  /** Name parts of two or three characters, matched as whole words in cleaned text. */
  readonly words: readonly string[];
}

/** The key a profile's safe-private set uses: group, creator and the element's low byte. */
function safeKey(tag: string, creator: string): string {
  return `${tag.slice(0, 4).toLowerCase()}|${creator}|${tag.slice(6, 8).toLowerCase()}`;
}

/**
 * The private elements of one dataset that Retain Safe Private keeps: an element at 0x10xx or above
 * whose creator element names it in the profile's set, and that creator element.
 */
export function safePrivateTags(ds: Dataset, profile: DeidProfile): Set<string> {
  const safe = new Set<string>();
  if (!profile.options.retainSafePrivate) return safe;
  for (const tag of Object.keys(ds)) {
    if (!isPrivate(tag) || parseInt(tag.slice(4, 6), 16) < 0x10) continue;
    const creatorTag = `${tag.slice(0, 4)}00${tag.slice(4, 6)}`;
    const creator = ds[creatorTag]?.Value?.[0];
    if (typeof creator !== 'string' || creator.trim() === '') continue;
    if (profile.safePrivate.has(safeKey(tag, creator.trim()))) safe.add(tag).add(creatorTag);
  }
  return safe;
}

/** Whether the profile may keep an element's text as it is (K, an override's keep) or cleaned (C on text). */
function keepable(tag: string, el: DicomElement, profile: DeidProfile): boolean {
  const override = profile.overrides.get(tag);
  if (override) return override.action === 'keep';
  const allowed = allowedActions(rowOf(tag), profile.options);
  if (allowed.has('K')) return true;
  return allowed.has('C') && (el.vr === 'TM' || CLEANED_VRS.has(el.vr));
}

function kindOf(tag: string, vr: string): string | undefined {
  if (tag === TAG.PatientName) return PATIENT_NAME_KIND;
  if (vr === 'PN') return 'person name';
  if (vr === 'UI') return 'original UID';
  return IDENTITY_TAGS.get(tag);
}

/** Reads the original's values that the table lets nobody keep. */
export function originalValues(dict: Dataset, profile: DeidProfile): OriginalValues {
  const identity = new Map<string, string>();
  const descriptive = new Map<string, string>();
  const words = new Set<string>();
  const add = (raw: string, kind: string | undefined, label: string): void => {
    const v = raw.replace(/\0/g, '').trim();
    if (v.length < SHORTEST) return;
    if (kind === undefined) {
      if (!identity.has(v) && !descriptive.has(v)) descriptive.set(v, label);
      return;
    }
    // The patient's own name wins when a value is both (a physician with the patient's family name).
    if (!identity.has(v) || kind === PATIENT_NAME_KIND) identity.set(v, kind);
    descriptive.delete(v);
  };
  const visit = (ds: Dataset, inherited: string | undefined): void => {
    const safe = safePrivateTags(ds, profile);
    for (const [tag, el] of Object.entries(ds)) {
      if (safe.has(tag)) continue;
      if (el.vr === 'SQ') {
        const kind = inherited ?? IDENTITY_SEQUENCE_TAGS.get(tag);
        for (const item of el.Value ?? []) visit(item as Dataset, kind);
        continue;
      }
      const priv = isPrivate(tag);
      const always = tag === TAG.PatientID || tag === TAG.PatientName;
      if (!priv && !always && keepable(tag, el, profile)) continue;
      if (tag === TAG.PixelData || CODED_OR_NUMERIC_VRS.has(el.vr)) continue;
      const kind = inherited ?? kindOf(tag, el.vr);
      const label = priv ? 'a private value' : `text removed from ${formatTag(tag)}`;
      for (const value of el.Value ?? []) {
        if (typeof value === 'string') {
          if (el.vr === 'UI' && value.startsWith(DICOM_UID_ROOT)) continue; // names a class, nobody
          add(value, kind, label);
          if (el.vr === 'LO' || el.vr === 'SH') for (const part of value.split('\\')) add(part, kind, label);
        } else if (el.vr === 'PN' && value && typeof value === 'object') {
          for (const group of Object.values(value as Record<string, unknown>)) {
            if (typeof group !== 'string') continue;
            add(group, kind, label);
            for (const piece of group.split(/[\^=\s]/)) {
              add(piece, kind, label);
              const p = piece.trim();
              if (p.length >= 2 && p.length < SHORTEST) words.add(p);
            }
          }
        } else if (value instanceof ArrayBuffer && BINARY_VRS.has(el.vr) && value.byteLength <= 1024) {
          // Short binary values are often text read as UN: their printable runs are searched for.
          for (const run of Buffer.from(value)
            .toString('latin1')
            .split(/[^\x20-\x5b\x5d-\x7e]+/))
            add(run, kind, label);
        }
      }
    }
  };
  visit(dict, undefined);
  return { identity, descriptive, words: [...words] };
}
