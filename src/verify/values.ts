/** Text views of elements and the constant items the engine writes, shared by the checks of the gate. */
import type { Dataset, DicomElement } from '../dicom/dataset';
import { TAG } from '../dicom/tags';

/** The marking the engine writes at the top level (checked whole by the marking check). */
export const MARKING_TAGS = new Set([
  TAG.SpecificCharacterSet,
  TAG.PatientIdentityRemoved,
  TAG.DeidentificationMethod,
  TAG.DeidentificationMethodCodeSequence,
  TAG.LongitudinalTemporalInformationModified,
]);

/** The element's values as text, without DICOM's trailing padding (space or NUL). */
export function textOf(el: DicomElement): string[] {
  return rawTextOf(el).map((v) => v.replace(/[\s\0]+$/, ''));
}

function rawTextOf(el: DicomElement): string[] {
  const out: string[] = [];
  for (const v of el.Value ?? []) {
    if (typeof v === 'string') out.push(v);
    else if (typeof v === 'number') out.push(String(v));
    else if (v && typeof v === 'object' && !(v instanceof ArrayBuffer) && el.vr === 'PN') {
      for (const part of Object.values(v as Record<string, unknown>))
        if (typeof part === 'string') out.push(part);
    }
  }
  return out;
}

/** Every text value of an element and of the items inside it, in order. */
export function flatText(el: DicomElement | undefined): string {
  if (!el) return '';
  if (el.vr !== 'SQ') return textOf(el).join('\\');
  return (el.Value ?? [])
    .map((item) =>
      Object.keys(item as Dataset)
        .sort()
        .map((t) => `${t}=${flatText((item as Dataset)[t])}`)
        .join('|'),
    )
    .join('#');
}

export function sameText(a: readonly string[], b: readonly string[]): boolean {
  return a.join('\\') === b.join('\\');
}
