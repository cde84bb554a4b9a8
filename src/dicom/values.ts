import type { DicomElement } from './dataset';

/** The first value of an element as text, trimmed ("" when absent); a person name's alphabetic group. */
export function str(el: DicomElement | undefined): string {
  const v = el?.Value?.[0];
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number') return String(v);
  if (v && typeof v === 'object' && 'Alphabetic' in v)
    return String((v as { Alphabetic?: string }).Alphabetic ?? '').trim();
  return '';
}
