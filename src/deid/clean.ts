/**
 * The cleaning used by the Clean Descriptors, Clean Structured Content and Clean Graphics options
 * (and the other options' C actions on text): the text is kept, minus every identifying value of
 * the instance found in it (names and their parts, IDs, dates, addresses, institution and device
 * names: see identifyingValues) and minus anything shaped like a date, a long number (IDs, phone
 * numbers) or an e-mail address. Each removed run becomes "*". Deterministic, so the verifier
 * recomputes the expected text from the original and compares.
 */

import type { TableRow } from './types';

/** VRs whose text a C action keeps, cleaned; any other VR under C takes the basic action. */
export const CLEANABLE_TEXT_VRS: ReadonlySet<string> = new Set(['AE', 'LO', 'LT', 'SH', 'ST', 'UC', 'UT']);

/** Sequences of free content (SR content, graphic annotations...): their D, without the matching Clean option, is an empty sequence. */
export function isContentSequence(row: TableRow | undefined): boolean {
  return !!row && row.vr === 'SQ' && (!!row.options.cleanStructuredContent || !!row.options.cleanGraphics);
}

const PATTERNS = [
  /\b\d{4}[-./]\d{1,2}[-./]\d{1,2}\b/g, // 2023-05-07
  /\b\d{1,2}[-./]\d{1,2}[-./]\d{2,4}\b/g, // 07.05.2023, 5/7/23
  /\d{5,}/g, // IDs, accession and phone numbers, compact dates
  /\+?\d[\d ().-]{6,}\d/g, // phone numbers with separators
  /[^\s@]+@[^\s@]+/g, // e-mail addresses
];

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export type Scrub = (text: string) => string;

/**
 * A scrubber for one instance. `values` are its identifying values (searched anywhere, ignoring
 * case); `words` are short name parts, searched as whole words only.
 */
export function makeScrubber(values: readonly string[], words: readonly string[] = []): Scrub {
  const parts = [...new Set(values.map((v) => v.trim()).filter((v) => v.length > 0))]
    .sort((a, b) => b.length - a.length)
    .map(escape);
  const wordParts = [...new Set(words.map((w) => w.trim()).filter((w) => w.length > 0))].map(
    (w) => `(?<![\\p{L}\\p{N}])${escape(w)}(?![\\p{L}\\p{N}])`,
  );
  const all = [...parts, ...wordParts];
  const known = all.length > 0 ? new RegExp(all.join('|'), 'giu') : undefined;
  return (text: string): string => {
    let out = known ? text.replace(known, '*') : text;
    for (const p of PATTERNS) out = out.replace(p, '*');
    return out;
  };
}
