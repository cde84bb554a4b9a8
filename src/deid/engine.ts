import type { KeyObject } from 'node:crypto';
import { CLEANABLE_TEXT_VRS, FREE_TEXT_VRS, makeScrubber, type Scrub } from './clean';
import { identifyingValues } from './identifying';
import { sopClassOf, type DicomFile } from '../dicom/file';
import { dateShiftFor, mapUid, pseudonymFor, type DerivedKeys } from './keys';
import {
  BASIC_OPTIONS,
  cleansFreeText,
  decide,
  isPrivateTag,
  resolveAction,
  rowForTag,
  type DeidProfile,
} from './profile';
import { keptPrivateTags } from './safePrivate';
import type { Dataset, DicomElement, ResolvedAction } from './types';
import { applyOverride } from './override';
import { dummyValue, shiftDate, shiftDateTime } from './values';
import { TAG, tagOf } from '../dicom/tags';
import { dummyItemsFor, marking } from './marking';
import { itemPath, tableTag } from '../dicom/iods';

/** Overlay Data (60xx,3000), as the tables write the repeating group. */
const OVERLAY_DATA = tableTag(tagOf(0x6000, 0x3000));

export { marking };
import { str } from '../dicom/values';
import { DICOM_UID_ROOT } from '../dicom/syntaxes';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../dicom/implementation';

export interface DeidContext {
  readonly profile: DeidProfile;
  readonly keys: DerivedKeys;
  /** The re-identification public key: with it, each pseudonym's identity is sealed (reid.ts). */
  readonly reidPublicKey?: KeyObject;
}

/** Who the instance belongs to, derived once from its top-level identity. */
export interface PatientMapping {
  readonly pseudonym: string;
  readonly dateShiftDays: number;
}

export interface DeidResult {
  readonly file: DicomFile;
  readonly patient: PatientMapping;
  readonly counts: Readonly<Record<ResolvedAction | 'private', number>>;
}

/**
 * UIDs that name a kind of thing (SOP classes, transfer syntaxes, coding schemes), not an instance
 * or a person: they are kept. Every other UID is remapped, whether or not the table lists it.
 */
const CLASS_UID_TAGS = new Set<string>([
  TAG.MediaStorageSOPClassUID,
  TAG.TransferSyntaxUID,
  TAG.ReferencedSOPClassUIDInFile,
  TAG.ReferencedTransferSyntaxUIDInFile,
  TAG.ReferencedRelatedGeneralSOPClassUIDInFile,
  TAG.SOPClassUID,
  TAG.RelatedGeneralSOPClassUID,
  TAG.OriginalSpecializedSOPClassUID,
  TAG.SOPClassesInStudy,
  TAG.CodingSchemeUID,
  TAG.ContextUID,
  TAG.ReferencedSOPClassUID,
  TAG.AvailableTransferSyntaxUID,
]);

/** Timezone Offset From UTC as PS3.3 C.12.1.1.8 writes it: "+HHMM" or "-HHMM", nothing else. */
export function isUtcOffset(v: unknown): boolean {
  return typeof v === 'string' && /^[+-](0\d|1[0-4])[0-5]\d$/.test(v.trim());
}

/** True for a UID that names a kind of thing (or is empty) and so passes through unchanged. */
export function uidIsKept(tag: string, value: string): boolean {
  return CLASS_UID_TAGS.has(tag) || value.trim() === '' || value.startsWith(DICOM_UID_ROOT);
}

/** File meta elements kept as they are; everything else in group 0002 is dropped or rewritten. */
const META_KEEP = new Set<string>([
  TAG.FileMetaInformationVersion,
  TAG.MediaStorageSOPClassUID,
  TAG.TransferSyntaxUID,
]);

/** Pseudonym and date shift for the dataset's patient; an empty PatientID is keyed by the study instead. */
function patientMapping(dict: Dataset, ctx: DeidContext): PatientMapping {
  const id = str(dict[TAG.PatientID]);
  const issuer = str(dict[TAG.IssuerOfPatientID]);
  // Without a PatientID the only safe identity is the study: merging every ID-less patient into one
  // pseudonym would link unrelated people.
  const key = id !== '' ? id : `study:${str(dict[TAG.StudyInstanceUID])}`;
  return {
    pseudonym: pseudonymFor(ctx.keys, key, issuer),
    dateShiftDays: dateShiftFor(ctx.keys, key, issuer, ctx.profile.maxDateShiftDays),
  };
}

function copy(el: DicomElement): DicomElement {
  const out: DicomElement = { vr: el.vr };
  if (el.Value !== undefined) out.Value = el.Value;
  if (el._rawValue !== undefined) out._rawValue = el._rawValue;
  return out;
}

class Walker {
  readonly counts: Record<ResolvedAction | 'private', number> = {
    D: 0,
    Z: 0,
    X: 0,
    U: 0,
    K: 0,
    C: 0,
    private: 0,
  };
  private readonly sopClass: string;
  constructor(
    private readonly ctx: DeidContext,
    private readonly patient: PatientMapping,
    private readonly scrub: Scrub,
    sopClass: string,
  ) {
    this.sopClass = sopClass;
  }

  mapUidValues(tag: string, el: DicomElement): DicomElement {
    if (this.ctx.profile.options.retainUids || CLASS_UID_TAGS.has(tag)) return copy(el);
    const values = (el.Value ?? []).map((v) =>
      typeof v === 'string' && !uidIsKept(tag, v) ? mapUid(this.ctx.keys, v) : v,
    );
    return { vr: el.vr, Value: values };
  }

  /** Walks a dataset inside the sequences `parents` (their tags, outermost first). */
  dataset(ds: Dataset, parents: readonly string[], cleaning: boolean): Dataset {
    const out: Dataset = {};
    const keptPrivate = keptPrivateTags(ds, this.ctx.profile);
    const removedOverlays = this.removedOverlays(ds, parents);
    for (const tag of Object.keys(ds)) {
      const el = ds[tag];
      if (!el) continue;
      if (tag.endsWith('0000')) continue; // group lengths: retired, and wrong once values change
      if (isPrivateTag(tag)) {
        if (keptPrivate.has(tag))
          out[tag] = el.vr === 'SQ' ? this.sequence(tag, el, parents, cleaning) : copy(el);
        else this.counts.private++;
        continue;
      }
      if (removedOverlays.has(tag.slice(0, 4))) {
        this.counts.X++;
        continue;
      }
      const next = this.element(tag, el, parents, cleaning);
      if (next) out[tag] = next;
    }
    return out;
  }

  /**
   * The overlay groups (60xx) whose Overlay Data the profile removes: removed whole. An Overlay
   * Plane without its bits is no overlay, and a module left without its Type 1 data is an invalid
   * object (issue 28); the rest of the group (rows, origin, description) is gone with it.
   */
  private removedOverlays(ds: Dataset, parents: readonly string[]): Set<string> {
    const groups = new Set<string>();
    for (const tag of Object.keys(ds)) {
      if (tableTag(tag) !== OVERLAY_DATA) continue;
      const { override } = decide(tag, this.ctx.profile, this.sopClass, parents);
      const row = rowForTag(tag);
      const removed = override
        ? override.action === 'remove'
        : !row || resolveAction(row, this.ctx.profile.options) === 'X';
      if (removed) groups.add(tag.slice(0, 4));
    }
    return groups;
  }

  private sequence(
    tag: string,
    el: DicomElement,
    parents: readonly string[],
    cleaning: boolean,
  ): DicomElement {
    const items = (el.Value ?? []).map((item) =>
      this.dataset(item as Dataset, itemPath(parents, tag, item as Dataset), cleaning),
    );
    return { vr: 'SQ', Value: items };
  }

  private element(
    tag: string,
    el: DicomElement,
    parents: readonly string[],
    cleaning: boolean,
  ): DicomElement | undefined {
    const depth = parents.length;
    if (tag === TAG.PatientID) {
      this.counts.D++;
      const own = depth === 0 ? this.patient.pseudonym : undefined;
      return { vr: el.vr, Value: [own ?? pseudonymFor(this.ctx.keys, str(el), '')] };
    }
    // Every text value of the output is UTF-8 (see marking), in nested items too.
    if (tag === TAG.SpecificCharacterSet) return { vr: 'CS', Value: ['ISO_IR 192'] };
    const { action, override } = decide(tag, this.ctx.profile, this.sopClass, parents);
    this.counts[action]++;
    if (override) return applyOverride(el, override);
    if (tag === TAG.PatientName && action !== 'K') {
      // Z allows a dummy: the pseudonym is the one name a researcher can use.
      return { vr: el.vr, Value: depth === 0 ? [{ Alphabetic: this.patient.pseudonym }] : [] };
    }
    switch (action) {
      case 'X':
        return undefined;
      case 'Z':
        return { vr: el.vr, Value: [] };
      case 'D':
        // A D sequence is replaced whole by its dummy items (none for graphic annotations), never walked.
        if (el.vr === 'SQ') return { vr: 'SQ', Value: dummyItemsFor(tag) };
        if (el.vr === 'UI') return this.mapUidValues(tag, el);
        return { vr: el.vr, Value: dummyValue(el.vr, el.Value) };
      case 'U':
        if (el.vr === 'SQ') return this.sequence(tag, el, parents, cleaning);
        return this.mapUidValues(tag, el);
      case 'C':
        return this.clean(tag, el, parents);
      case 'K':
        if (el.vr === 'SQ') return this.sequence(tag, el, parents, cleaning);
        // A K the table gives (an option such as Retain Device Identity) keeps the UID; a UID the
        // table does not list is still remapped, since it may name this patient's instances.
        if (el.vr === 'UI') return rowForTag(tag) ? copy(el) : this.mapUidValues(tag, el);
        if (cleaning && CLEANABLE_TEXT_VRS.has(el.vr)) return this.cleanText(el);
        return copy(el);
    }
  }

  private cleanText(el: DicomElement): DicomElement {
    return {
      vr: el.vr,
      Value: (el.Value ?? []).map((v) => (typeof v === 'string' ? this.scrub(v) : v)),
    };
  }

  /**
   * C: dates move by the patient's shift (Retain Longitudinal Modified Dates), times and UTC
   * offsets stay; sequences are kept with their content cleaned; text is kept, scrubbed of every
   * identifying value. Anything else (bitmaps such as Overlay Data, curves, binary values) has no
   * automatic cleaning the engine can prove, so the basic profile's action applies.
   */
  private clean(tag: string, el: DicomElement, parents: readonly string[]): DicomElement | undefined {
    const shift = this.patient.dateShiftDays;
    const values = el.Value ?? [];
    const row = rowForTag(tag);
    const dateOption = !!row?.options.retainLongitudinalModifiedDates;
    if (dateOption && this.ctx.profile.options.retainLongitudinalModifiedDates) {
      if (el.vr === 'DA' || el.vr === 'DT') {
        const fn = el.vr === 'DA' ? shiftDate : shiftDateTime;
        const shifted = values.map((v) => (typeof v === 'string' ? fn(v, shift) : undefined));
        // A value that is not a full date cannot be shifted; emptying it is the safe answer.
        return { vr: el.vr, Value: shifted.every((v) => v !== undefined) ? shifted : [] };
      }
      // Whole-day shifts leave times and UTC offsets alone; an offset is kept only in its one form.
      if (el.vr === 'TM') return copy(el);
      if (tag === TAG.TimezoneOffsetFromUTC)
        return { vr: el.vr, Value: values.every(isUtcOffset) ? values : [] };
    }
    if (el.vr === 'SQ') return this.sequence(tag, el, parents, true);
    if (FREE_TEXT_VRS.has(el.vr) && !cleansFreeText(tag, this.ctx.profile)) return { vr: el.vr, Value: [] };
    if (CLEANABLE_TEXT_VRS.has(el.vr)) return this.cleanText(el);
    const basic = row ? resolveAction(row, BASIC_OPTIONS) : 'X';
    if (basic === 'X') return undefined;
    if (basic === 'Z') return { vr: el.vr, Value: [] };
    if (basic === 'U') return this.mapUidValues(tag, el);
    return { vr: el.vr, Value: dummyValue(el.vr, el.Value) };
  }
}

/**
 * De-identifies one instance under the profile. Pure: the input is never changed (bulk values
 * such as pixel data are shared, not copied, and never written to).
 */
export function deidentify(
  input: DicomFile,
  ctx: DeidContext,
  opts: { readonly pixelsCleaned?: boolean } = {},
): DeidResult {
  const patient = patientMapping(input.dict, ctx);
  const sopClass = sopClassOf(input);
  const found = identifyingValues(input.dict, ctx.profile, sopClass);
  const walker = new Walker(ctx, patient, makeScrubber(found.values, found.words), sopClass);
  const dict = {
    ...walker.dataset(input.dict, [], false),
    ...marking(ctx.profile, opts.pixelsCleaned ?? false),
  };

  const meta: Dataset = {};
  for (const tag of Object.keys(input.meta)) {
    const el = input.meta[tag];
    if (el && META_KEEP.has(tag)) meta[tag] = copy(el);
  }
  const sop = dict[TAG.SOPInstanceUID];
  const mediaSop = input.meta[TAG.MediaStorageSOPInstanceUID];
  if (sop) meta[TAG.MediaStorageSOPInstanceUID] = { vr: 'UI', Value: [str(sop)] };
  else if (mediaSop)
    meta[TAG.MediaStorageSOPInstanceUID] = walker.mapUidValues(TAG.MediaStorageSOPInstanceUID, mediaSop);
  meta[TAG.ImplementationClassUID] = { vr: 'UI', Value: [IMPLEMENTATION_CLASS_UID] };
  meta[TAG.ImplementationVersionName] = { vr: 'SH', Value: [IMPLEMENTATION_VERSION_NAME] };

  // Unordered: the writers write elements in tag order whatever the object's key order.
  return { file: { meta, dict }, patient, counts: walker.counts };
}
