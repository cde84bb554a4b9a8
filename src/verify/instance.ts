import { createHash } from 'node:crypto';
import type { DicomFile } from '../deid/dicom';
import { isUtcOffset, marking, uidIsKept, type DeidContext, type PatientMapping } from '../deid/engine';
import { mapUid } from '../deid/keys';
import { CLEANABLE_TEXT_VRS, FREE_TEXT_VRS, makeScrubber, type Scrub } from '../deid/clean';
import { identifyingValues, type IdentifyingValues } from '../deid/identifying';
import { replacementValues } from '../deid/override';
import {
  cleansFreeText,
  decide,
  isPrivateTag,
  methodCodes,
  rowForTag,
  type TagOverride,
} from '../deid/profile';
import { keptPrivateTags } from '../deid/safePrivate';
import type { Dataset, DicomElement } from '../deid/types';
import { shiftDate, shiftDateTime } from '../deid/values';
import { formatTag, type CheckFailure, type CheckName, type GateVerdict } from './types';
import { residualPhi } from './residual';
import { dummySequence, flatText, MARKING_TAGS, sameText, textOf } from './values';
import { TAG } from '../dicom/tags';
import { str } from '../dicom/values';

/** Elements whose value must be the same before and after, for research to trust the images. */
const CORRESPONDENCE_TAGS: Readonly<Record<string, string>> = {
  [TAG.InstanceNumber]: 'InstanceNumber',
  [TAG.ImageLaterality]: 'ImageLaterality',
  [TAG.ViewPosition]: 'ViewPosition',
  [TAG.Laterality]: 'Laterality',
  [TAG.Modality]: 'Modality',
  [TAG.SOPClassUID]: 'SOPClassUID',
  [TAG.Rows]: 'Rows',
  [TAG.Columns]: 'Columns',
};
export interface InstanceVerdict extends GateVerdict {
  readonly ok: boolean;
}

export function pixelHash(dict: Dataset): string | null {
  const el = dict[TAG.PixelData];
  if (!el) return null;
  const h = createHash('sha256');
  for (const part of el.Value ?? []) {
    if (part instanceof ArrayBuffer) h.update(new Uint8Array(part));
    else if (ArrayBuffer.isView(part))
      h.update(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
  }
  return h.digest('hex');
}

class Checker {
  readonly failures: CheckFailure[] = [];
  /** The checks that ran, in order, each named where it runs (run). */
  readonly ran: CheckName[] = [];
  constructor(
    private readonly ctx: DeidContext,
    private readonly patient: PatientMapping,
    private readonly sopClass: string,
    private readonly scrub: Scrub,
  ) {}

  /** Runs one check of the gate and records that it ran. */
  run(check: CheckName, fn: () => void): void {
    if (!this.ran.includes(check)) this.ran.push(check);
    fn();
  }

  fail(check: CheckName, tag: string, path: string, detail: string): void {
    this.failures.push({ check, tag: formatTag(tag), path, detail });
  }

  private expectUids(tag: string, path: string, orig: DicomElement, out: DicomElement): void {
    const o = orig.Value ?? [];
    const n = out.Value ?? [];
    if (this.ctx.profile.options.retainUids) return;
    o.forEach((value, i) => {
      if (typeof value !== 'string') return;
      if (uidIsKept(tag, value)) {
        if (n[i] !== value)
          this.fail('conformance', tag, path, 'changed a UID that names a class, not an instance');
      } else if (n[i] !== mapUid(this.ctx.keys, value))
        this.fail('conformance', tag, path, 'is not the keyed replacement UID');
    });
  }

  /** Walks the output beside the original at the same path and checks each element's action. */
  conformance(orig: Dataset, out: Dataset, path: string, depth: number, cleaning: boolean): void {
    const safePrivate = keptPrivateTags(out, this.ctx.profile);
    for (const [tag, el] of Object.entries(out)) {
      const o = orig[tag];
      if (depth === 0 && MARKING_TAGS.has(tag as never)) continue;
      if (isPrivateTag(tag)) {
        if (!this.ctx.profile.options.retainSafePrivate)
          this.fail('conformance', tag, path, 'private element present');
        else if (!safePrivate.has(tag))
          this.fail('conformance', tag, path, 'private element not in the safe-private dictionary');
        continue;
      }
      if (tag === TAG.PatientID) {
        if (depth === 0 && str(el) !== this.patient.pseudonym)
          this.fail('conformance', tag, path, 'is not the pseudonym');
        continue;
      }
      if (tag === TAG.SpecificCharacterSet) {
        if (str(el) !== 'ISO_IR 192') this.fail('conformance', tag, path, 'is not ISO_IR 192 (UTF-8)');
        continue;
      }
      const { action, override } = decide(tag, this.ctx.profile, this.sopClass, depth);
      if (override) {
        this.checkOverride(tag, path, o, el, override);
        continue;
      }
      if (el.vr === 'SQ') {
        if (action === 'X') this.fail('conformance', tag, path, 'should have been removed');
        if (action === 'D') {
          // Replaced as a whole: the constant dummy items, nothing of the original's items.
          if (flatText(el) !== flatText(dummySequence(tag)))
            this.fail('conformance', tag, path, 'is not the dummy item that replaces it');
          continue;
        }
        const origItems = o?.Value ?? [];
        (el.Value ?? []).forEach((item, i) =>
          this.conformance(
            (origItems[i] ?? {}) as Dataset,
            item as Dataset,
            `${path ? path + '.' : ''}${formatTag(tag)}[${i}]`,
            depth + 1,
            cleaning || action === 'C',
          ),
        );
        continue;
      }
      switch (action) {
        case 'X':
          this.fail('conformance', tag, path, 'should have been removed');
          break;
        case 'Z': {
          const allowed = tag === TAG.PatientName && depth === 0 ? [this.patient.pseudonym] : [];
          const values = textOf(el).filter((v) => v.trim() !== '');
          if (values.some((v) => !allowed.includes(v.trim())))
            this.fail('conformance', tag, path, 'should be empty');
          break;
        }
        case 'D':
          if (el.vr === 'UI' && o) this.expectUids(tag, path, o, el);
          else if (o && textOf(o).length > 0 && sameText(textOf(o), textOf(el)))
            this.fail('conformance', tag, path, 'still holds the original value');
          break;
        case 'U':
          if (o) this.expectUids(tag, path, o, el);
          break;
        case 'C':
          if (!o) break;
          if (
            this.ctx.profile.options.retainLongitudinalModifiedDates &&
            rowForTag(tag)?.options.retainLongitudinalModifiedDates &&
            (el.vr === 'DA' || el.vr === 'DT')
          ) {
            const fn = el.vr === 'DA' ? shiftDate : shiftDateTime;
            const expected = textOf(o).map((v) => fn(v, this.patient.dateShiftDays));
            const got = textOf(el);
            if (
              got.length > 0 &&
              !sameText(
                got,
                expected.map((v) => v ?? ''),
              )
            )
              this.fail('conformance', tag, path, 'is not shifted by the patient offset');
          } else if (
            tag === TAG.TimezoneOffsetFromUTC &&
            this.ctx.profile.options.retainLongitudinalModifiedDates
          ) {
            const expected = textOf(o).every(isUtcOffset) ? textOf(o) : [];
            if (!sameText(textOf(el), expected))
              this.fail('conformance', tag, path, 'is not a +HHMM/-HHMM offset kept as it was, nor empty');
          } else if (FREE_TEXT_VRS.has(el.vr) && !cleansFreeText(tag, this.ctx.profile)) {
            if (textOf(el).some((v) => v.trim() !== ''))
              this.fail(
                'conformance',
                tag,
                path,
                'free text should be empty (no Clean option asks to keep it)',
              );
          } else if (CLEANABLE_TEXT_VRS.has(el.vr)) this.expectCleaned(tag, path, o, el);
          break;
        case 'K':
          if (el.vr === 'UI' && o) {
            if (!rowForTag(tag)) this.expectUids(tag, path, o, el);
            else if (!sameText(textOf(o), textOf(el)))
              this.fail('conformance', tag, path, 'is not the original UID the profile keeps');
          } else if (cleaning && o && CLEANABLE_TEXT_VRS.has(el.vr)) this.expectCleaned(tag, path, o, el);
          break;
      }
    }
  }

  private expectCleaned(tag: string, path: string, orig: DicomElement, out: DicomElement): void {
    const expected = textOf(orig).map((v) => this.scrub(v).replace(/[\s\0]+$/, ''));
    if (!sameText(textOf(out), expected))
      this.fail('conformance', tag, path, 'is not the cleaned original text');
  }

  private checkOverride(
    tag: string,
    path: string,
    orig: DicomElement | undefined,
    out: DicomElement,
    override: TagOverride,
  ): void {
    const got = textOf(out);
    switch (override.action) {
      case 'remove':
        this.fail('conformance', tag, path, 'should have been removed (profile override)');
        break;
      case 'empty':
        if (got.some((v) => v.trim() !== ''))
          this.fail('conformance', tag, path, 'should be empty (profile override)');
        break;
      case 'replace': {
        const expected = textOf({ vr: out.vr, Value: replacementValues(out.vr, override.value ?? '') });
        if (!sameText(got, expected))
          this.fail('conformance', tag, path, 'is not the replacement value (profile override)');
        break;
      }
      case 'keep':
        if (orig && out.vr !== 'SQ' && !sameText(got, textOf(orig)))
          this.fail('conformance', tag, path, 'is not the original value (profile override keep)');
        break;
    }
  }

  /**
   * The marking must be exactly what the engine writes for this profile (codes, meanings, method,
   * state): constants, so the residual check may pass over it.
   */
  marking(out: Dataset, pixelsCleaned: boolean): void {
    if (str(out[TAG.PatientIdentityRemoved]) !== 'YES')
      this.fail('marking', TAG.PatientIdentityRemoved, '', 'is not YES');
    const items = (out[TAG.DeidentificationMethodCodeSequence]?.Value ?? []) as Dataset[];
    const codes = items.map((item) => str(item[TAG.CodeValue])).join(',');
    if (codes !== methodCodes(this.ctx.profile.options, pixelsCleaned).join(','))
      this.fail(
        'marking',
        TAG.DeidentificationMethodCodeSequence,
        '',
        'does not list exactly the applied profile and options',
      );
    const expected = marking(this.ctx.profile, pixelsCleaned);
    for (const tag of MARKING_TAGS) {
      if (tag === TAG.SpecificCharacterSet) continue; // checked by conformance
      if (flatText(out[tag]) !== flatText(expected[tag]))
        this.fail('marking', tag, '', 'is not the marking the profile writes');
    }
  }

  /** Descriptive values found where the original carried them too: kept by the profile, not leaked. */
  keptDescriptive = 0;

  residual(found: IdentifyingValues, out: Dataset, orig: Dataset, path: string, topLevel: boolean): void {
    this.keptDescriptive += residualPhi(found, out, orig, path, topLevel, (tag, p, detail) =>
      this.fail('residual-phi', tag, p, detail),
    );
  }

  correspondence(orig: Dataset, out: Dataset): void {
    for (const [tag, name] of Object.entries(CORRESPONDENCE_TAGS)) {
      const o = orig[tag];
      if (!o) continue;
      if (textOf(o).join('\\') !== textOf(out[tag] ?? { vr: o.vr }).join('\\'))
        this.fail('correspondence', tag, '', `${name} differs from the original`);
    }
  }
}

/**
 * The gate every instance passes before it may be pushed: conformance to the profile, no
 * identifying value of the original left anywhere in the output, correspondence of the elements
 * research relies on, and the de-identification marking.
 */
export function verifyInstance(
  original: DicomFile,
  output: DicomFile,
  ctx: DeidContext,
  patient: PatientMapping,
  /**
   * When the pixels were cleaned (pixels/clean.ts): `original` then holds the cleaned pixels, and
   * the pixel gate (verify/pixels.ts) proves the masking against the decoded original.
   */
  pixelsCleaned = false,
): InstanceVerdict {
  const sopClass = str(original.dict[TAG.SOPClassUID]);
  const found = identifyingValues(original.dict, ctx.profile, sopClass);
  const checker = new Checker(ctx, patient, sopClass, makeScrubber(found.values, found.words));
  checker.run('conformance', () => checker.conformance(original.dict, output.dict, '', 0, false));
  checker.run('marking', () => checker.marking(output.dict, pixelsCleaned));
  checker.run('residual-phi', () => {
    checker.residual(found, output.dict, original.dict, '', true);
    checker.residual(found, output.meta, original.meta, '', false);
  });
  checker.run('correspondence', () => {
    checker.correspondence(original.dict, output.dict);
    if (pixelHash(original.dict) !== pixelHash(output.dict))
      checker.fail('correspondence', TAG.PixelData, '', 'pixel data hash differs from the original');
  });
  return { ok: checker.failures.length === 0, failures: checker.failures, ran: checker.ran };
}
