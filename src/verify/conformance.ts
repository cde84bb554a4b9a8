/**
 * Conformance, read apart from the engine: for every element of the output, at any depth, whether
 * it may be there with that value, decided from the original at the same place and the table alone
 * (verify/table.ts). An element passes when one action the table allows explains it:
 *
 * - K: the original's value, unchanged;
 * - Z: empty;
 * - D: a value that is not the original's (a UID: a new one; a sequence: at most one item holding
 *   nothing of the original's items);
 * - U: a new UID, the same new UID wherever the instance had the same original;
 * - C: a date moved by the patient's shift, a time kept, text that is the original with runs taken
 *   out ("*") and nothing of the instance's identity left in it, a sequence whose items pass again;
 * - X: never (the element should be gone).
 *
 * Anything else fails with a reason naming the element and the rule, never a value.
 */
import { createHmac } from 'node:crypto';
import { IdentityPattern } from '../util/regexCache';
import type { DeidProfile, TagOverride } from '../deid/profile';
import type { ResolvedAction } from '../deid/types';
import type { Dataset, DicomElement } from '../dicom/dataset';
import { entryOfTag } from '../dicom/dictionary';
import { DICOM_UID_ROOT } from '../dicom/syntaxes';
import { formatTag, TAG } from '../dicom/tags';
import { str } from '../dicom/values';
import { CLEANED_VRS, safePrivateTags, type OriginalValues } from './originals';
import { allowedActions, allowedWithType, isPrivate, rowOf } from './table';
import { attributeType, itemPath } from '../dicom/iods';
import { MARKING_TAGS, sameText, textOf } from './values';

export interface ConformanceInput {
  readonly profile: DeidProfile;
  /** The patient's pseudonym and date shift, as the pipeline derived them for this instance. */
  readonly pseudonym: string;
  readonly dateShiftDays: number;
  readonly originals: OriginalValues;
  /**
   * The project's UID key: a replaced UID must then be exactly `2.25.` and the decimal value of
   * the first 128 bits of HMAC-SHA256(key, original UID) (docs/DEIDENTIFICATION.md), computed here
   * again, apart from the engine. Without it, a new UID is checked for its form and consistency.
   */
  readonly uidKey?: Buffer;
  /** The instance's SOP class: the IOD whose attribute types widen what the table allows. */
  readonly sopClass: string;
}

export type Fail = (tag: string, path: string, detail: string) => void;

/** Attributes whose UIDs name a kind of thing (a class, a syntax, a coding scheme): kept by every profile. */
const CLASS_UID_KEYWORD =
  /(ClassUID|ClassUIDInFile|TransferSyntaxUID|TransferSyntaxUIDInFile|CodingSchemeUID|^ContextUID|SOPClassesInStudy)$/;

function namesAClass(tag: string, value: string): boolean {
  return value.startsWith(DICOM_UID_ROOT) || CLASS_UID_KEYWORD.test(entryOfTag(tag)?.keyword ?? '');
}

/**
 * Whether the profile replaces a sequence whole: the table allows only D (or removing or emptying
 * it), and no override says otherwise.
 */
export function replacedWhole(tag: string, profile: DeidProfile): boolean {
  if (isPrivate(tag) || profile.overrides.has(tag)) return false;
  const allowed = allowedActions(rowOf(tag), profile.options);
  return allowed.has('D') && !allowed.has('K') && !allowed.has('U') && !allowed.has('C');
}

/** Free text: what a person types into (an AE title is a configured name). */
const FREE_TEXT_VRS: ReadonlySet<string> = new Set(['LO', 'LT', 'SH', 'ST', 'UC', 'UT']);
const CLEAN_OPTIONS = ['cleanDescriptors', 'cleanStructuredContent', 'cleanGraphics'] as const;

/** PS3.5 9.1: digits and dots, no empty or zero-led component, at most 64 characters. */
const UID_FORM = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/;

/** Text shaped like what cleaning removes even when the instance does not hold it: dates, long numbers, e-mail. */
const CLEANED_AWAY = [
  /\d{5,}/,
  /\b\d{4}[-./]\d{1,2}[-./]\d{1,2}\b/,
  /\b\d{1,2}[-./]\d{1,2}[-./]\d{2,4}\b/,
  /[^\s@]+@[^\s@]+/,
];

function blank(el: DicomElement): boolean {
  return textOf(el).every((v) => v.trim() === '') && !(el.Value ?? []).some((v) => v instanceof ArrayBuffer);
}

/** The day `days` after a DICOM date (YYYYMMDD), or undefined for anything that is not one. */
function addDays(date: string, days: number): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(date);
  if (!m) return undefined;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!);
  const d = new Date(t + days * 86_400_000);
  if (Number.isNaN(t) || d.getUTCFullYear() > 9999 || d.getUTCFullYear() < 1) return undefined;
  return `${String(d.getUTCFullYear()).padStart(4, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

function keyedUid(key: Buffer, uid: string): string {
  const digest = createHmac('sha256', key).update(uid.replace(/\0/g, '').trim(), 'utf8').digest();
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`).toString(10)}`;
}

export class Conformance {
  /** Original UID -> its replacement, and back: one replacement per original, in this instance. */
  private readonly newUid = new Map<string, string>();
  private readonly oldUid = new Map<string, string>();
  private readonly needles: IdentityPattern | undefined;
  /** Why the last C did not explain an element, when a rule more precise than the table's says so. */
  private because: string | undefined;

  constructor(
    private readonly input: ConformanceInput,
    private readonly fail: Fail,
  ) {
    const { identity, descriptive, words } = input.originals;
    const parts = [...identity.keys(), ...descriptive.keys()];
    this.needles = parts.length + words.length > 0 ? new IdentityPattern(parts, words) : undefined;
  }

  /** Walks the output beside the original at the same place. `cleaning`: inside a sequence a C keeps. */
  dataset(orig: Dataset, out: Dataset, path: string, parents: readonly string[], cleaning: boolean): void {
    const depth = parents.length;
    const safe = safePrivateTags(out, this.input.profile);
    for (const [tag, el] of Object.entries(out)) {
      if (depth === 0 && MARKING_TAGS.has(tag as never)) continue; // the marking check's
      const o = orig[tag];
      if (isPrivate(tag)) {
        if (!this.input.profile.options.retainSafePrivate) this.fail(tag, path, 'private element present');
        else if (!safe.has(tag)) this.fail(tag, path, 'private element not in the safe-private dictionary');
        else if (el.vr === 'SQ') this.items(tag, o, el, path, parents, cleaning);
        continue;
      }
      if (tag === TAG.SpecificCharacterSet) {
        if (str(el) !== 'ISO_IR 192') this.fail(tag, path, 'is not ISO_IR 192 (UTF-8)');
        continue;
      }
      if (tag === TAG.PatientID) {
        if (
          depth === 0 ? str(el) !== this.input.pseudonym : o !== undefined && sameText(textOf(o), textOf(el))
        )
          this.fail(tag, path, 'is not the pseudonym');
        continue;
      }
      if (!o) {
        this.fail(tag, path, 'is not in the original at this place');
        continue;
      }
      const override = this.input.profile.overrides.get(tag);
      if (override) this.override(tag, path, o, el, override);
      else this.element(tag, path, o, el, parents, cleaning);
    }
  }

  private items(
    tag: string,
    o: DicomElement | undefined,
    el: DicomElement,
    path: string,
    parents: readonly string[],
    cleaning: boolean,
  ): void {
    const origItems = o?.vr === 'SQ' ? (o.Value ?? []) : [];
    (el.Value ?? []).forEach((item, i) =>
      this.dataset(
        (origItems[i] ?? {}) as Dataset,
        item as Dataset,
        `${path ? path + '.' : ''}${formatTag(tag)}[${i}]`,
        itemPath(parents, tag, item as Dataset),
        cleaning,
      ),
    );
  }

  private element(
    tag: string,
    path: string,
    o: DicomElement,
    el: DicomElement,
    parents: readonly string[],
    cleaning: boolean,
  ): void {
    const depth = parents.length;
    const row = rowOf(tag);
    const allowed = allowedWithType(
      allowedActions(row, this.input.profile.options),
      row ? attributeType(this.input.sopClass, parents, tag) : undefined,
    );
    if (el.vr === 'SQ') {
      if (allowed.has('K') || allowed.has('U') || allowed.has('C'))
        return this.items(tag, o, el, path, parents, cleaning || (allowed.has('C') && !allowed.has('K')));
      if (allowed.has('D') && this.replacedSequence(o, el)) return;
      if (allowed.has('Z') && (el.Value ?? []).length === 0) return;
      return this.fail(
        tag,
        path,
        allowed.has('D')
          ? "is not a dummy that replaces it whole (one item at most, nothing of the original's items)"
          : this.rule(allowed, row === undefined),
      );
    }
    if (tag === TAG.PatientName && depth === 0 && str(el) === this.input.pseudonym && !allowed.has('K'))
      return;
    if (tag === TAG.PixelData) return; // compared whole with the original by the correspondence check
    if (el.vr === 'UI') return this.uids(tag, path, o, el, allowed);
    this.because = undefined;
    for (const action of allowed) if (this.explains(action, tag, o, el, cleaning)) return;
    this.fail(tag, path, this.because ?? this.rule(allowed, row === undefined));
  }

  /** Whether one action of the table explains the output element (not a UID, not a sequence). */
  private explains(
    action: ResolvedAction,
    tag: string,
    o: DicomElement,
    el: DicomElement,
    cleaning: boolean,
  ): boolean {
    switch (action) {
      case 'X':
      case 'U':
        return false;
      case 'Z':
        return blank(el);
      case 'D':
        return textOf(o).length === 0 || !sameText(textOf(o), textOf(el));
      case 'K':
        if (cleaning && CLEANED_VRS.has(el.vr)) return this.cleaned(o, el);
        return sameText(textOf(o), textOf(el)) && sameBytes(o, el);
      case 'C':
        return blank(el) || this.cleanKept(tag, o, el);
    }
  }

  /** What a C keeps: a shifted date, a time or UTC offset as it was, cleaned text. */
  private cleanKept(tag: string, o: DicomElement, el: DicomElement): boolean {
    const datesMoved =
      this.input.profile.options.retainLongitudinalModifiedDates &&
      !!rowOf(tag)?.options.retainLongitudinalModifiedDates;
    if (datesMoved && (el.vr === 'DA' || el.vr === 'DT')) {
      this.because = 'is not shifted by the patient offset';
      const shifted = textOf(o).map((v) => {
        const day = addDays(v.slice(0, 8), this.input.dateShiftDays);
        return day === undefined ? undefined : day + v.slice(8);
      });
      return shifted.every((v) => v !== undefined) && sameText(textOf(el), shifted as string[]);
    }
    if (datesMoved && el.vr === 'TM') return sameText(textOf(o), textOf(el));
    // An offset is kept only in its one form, "+HHMM" or "-HHMM" (PS3.3 C.12.1.1.8).
    if (datesMoved && tag === TAG.TimezoneOffsetFromUTC) {
      this.because = 'is not a +HHMM/-HHMM offset kept as it was, nor empty';
      return (
        sameText(textOf(o), textOf(el)) && textOf(el).every((v) => /^[+-](0\d|1[0-4])[0-5]\d$/.test(v.trim()))
      );
    }
    if (FREE_TEXT_VRS.has(el.vr) && !this.cleansFreeText(tag)) {
      this.because = 'free text should be empty (no Clean option asks to keep it)';
      return false;
    }
    if (!CLEANED_VRS.has(el.vr)) return false;
    this.because = 'is not the original text with identifying runs taken out';
    return this.cleaned(o, el);
  }

  /**
   * Whether a C on free text keeps it cleaned: a Clean option names the row, or the profile opts in
   * (`retainedFreeText: clean`). A Retain option's C alone writes it empty: cleaning removes only
   * what the instance itself holds, and a person named nowhere else in it would pass.
   */
  private cleansFreeText(tag: string): boolean {
    const { profile } = this.input;
    if (profile.retainedFreeText === 'clean') return true;
    const row = rowOf(tag);
    return CLEAN_OPTIONS.some((o) => profile.options[o] && row?.options[o] === 'C');
  }

  /**
   * Cleaned text: each value is its original with runs replaced by "*", nothing added, and none of
   * the instance's identifying values, name parts, dates, long numbers or e-mail addresses left.
   */
  private cleaned(o: DicomElement, el: DicomElement): boolean {
    const before = textOf(o);
    const after = textOf(el);
    if (after.length !== before.length) return false;
    return after.every((v, i) => {
      let at = 0;
      for (const piece of v.split('*')) {
        const found = before[i]!.indexOf(piece, at);
        if (found < 0) return false;
        at = found + piece.length;
      }
      return !this.needles?.test(v) && !CLEANED_AWAY.some((p) => p.test(v));
    });
  }

  /** UIDs: a class UID or one the profile keeps as it was; every other one replaced, consistently. */
  private uids(
    tag: string,
    path: string,
    o: DicomElement,
    el: DicomElement,
    allowed: ReadonlySet<ResolvedAction>,
  ): void {
    const before = textOf(o);
    const after = textOf(el);
    if (after.length === 0 && (allowed.has('Z') || allowed.has('X') || before.length === 0)) return;
    const listed = rowOf(tag) !== undefined;
    const keeps = this.input.profile.options.retainUids || (allowed.has('K') && listed);
    // U and D replace a UID; so does the engine for a UID the table does not list (it may name an instance).
    const replaces =
      !this.input.profile.options.retainUids && (allowed.has('U') || allowed.has('D') || !listed);
    if (after.length !== before.length)
      return this.fail(tag, path, 'does not hold one UID for each of the original');
    after.forEach((v, i) => {
      const was = before[i]!;
      if (v === was) {
        if (!keeps && !namesAClass(tag, was) && was !== '')
          this.fail(tag, path, 'still holds the original UID (the table replaces it)');
        return;
      }
      if (!replaces) return this.fail(tag, path, 'is not the original UID the profile keeps');
      if (!UID_FORM.test(v) || v.length > 64) return this.fail(tag, path, 'is not a well-formed UID');
      if (this.input.uidKey && v !== keyedUid(this.input.uidKey, was))
        return this.fail(tag, path, 'is not the keyed replacement UID');
      if ((this.newUid.get(was) ?? v) !== v || (this.oldUid.get(v) ?? was) !== was)
        return this.fail(
          tag,
          path,
          'does not replace one original UID by one new UID throughout the instance',
        );
      this.newUid.set(was, v);
      this.oldUid.set(v, was);
    });
  }

  /** A D on a sequence: at most one item, holding no value of the original's items (but class UIDs). */
  private replacedSequence(o: DicomElement, el: DicomElement): boolean {
    const items = el.Value ?? [];
    if (items.length > 1) return false;
    const originalValues = new Set(
      leafTexts(o).filter((v) => v.length >= 4 && !v.startsWith(DICOM_UID_ROOT)),
    );
    return leafTexts(el).every((v) => !originalValues.has(v));
  }

  private override(
    tag: string,
    path: string,
    o: DicomElement,
    el: DicomElement,
    override: TagOverride,
  ): void {
    const got = textOf(el);
    switch (override.action) {
      case 'remove':
        return this.fail(tag, path, 'should have been removed (profile override)');
      case 'empty':
        if (!blank(el)) this.fail(tag, path, 'should be empty (profile override)');
        return;
      case 'replace':
        if (
          !sameText(
            got,
            (override.value ?? '').split('\\').map((v) => v.replace(/[\s\0]+$/, '')),
          )
        )
          this.fail(tag, path, 'is not the replacement value (profile override)');
        return;
      case 'keep':
        if (el.vr !== 'SQ' && !sameText(got, textOf(o)))
          this.fail(tag, path, 'is not the original value (profile override keep)');
        return;
    }
  }

  /** The reason for an element no allowed action explains: what the table lets this attribute be. */
  private rule(allowed: ReadonlySet<ResolvedAction>, unlisted: boolean): string {
    if (unlisted) return 'is not the original value (the table does not list it: kept)';
    const a = [...allowed];
    if (a.length === 1 && a[0] === 'X') return 'should have been removed';
    if (a.every((x) => x === 'X' || x === 'Z')) return 'should be empty or removed';
    return `is not what the table allows (${a.sort().join('/')}): ${DESCRIBE.filter(([x]) => allowed.has(x))
      .map(([, d]) => d)
      .join(', ')}`;
  }
}

const DESCRIBE: ReadonlyArray<readonly [ResolvedAction, string]> = [
  ['K', 'the original value'],
  ['C', 'the original cleaned or its date shifted'],
  ['D', 'a dummy'],
  ['U', 'a new UID'],
  ['Z', 'empty'],
  ['X', 'removed'],
];

/**
 * The values in an element and the items inside it that could say something of someone: not coded
 * strings (CS: enumerated terms such as CONTAINS or TEXT) and not codes the standard itself defines
 * (an item whose Coding Scheme Designator is DCM).
 */
function leafTexts(el: DicomElement): string[] {
  if (el.vr === 'CS') return [];
  if (el.vr !== 'SQ') return textOf(el);
  return (el.Value ?? []).flatMap((item) => {
    const ds = item as Dataset;
    const standardCode = str(ds[TAG.CodingSchemeDesignator]) === 'DCM';
    return Object.entries(ds).flatMap(([t, e]) =>
      standardCode && (t === TAG.CodeValue || t === TAG.CodeMeaning || t === TAG.CodingSchemeDesignator)
        ? []
        : leafTexts(e),
    );
  });
}

/** Binary values compared byte for byte (text values are compared by textOf). */
function sameBytes(a: DicomElement, b: DicomElement): boolean {
  const bytes = (el: DicomElement): Buffer[] =>
    (el.Value ?? []).filter((v): v is ArrayBuffer => v instanceof ArrayBuffer).map((v) => Buffer.from(v));
  const x = bytes(a);
  const y = bytes(b);
  return x.length === y.length && x.every((buf, i) => buf.equals(y[i]!));
}
