/**
 * The cleaning used by the Clean Descriptors, Clean Structured Content and Clean Graphics options
 * (and the other options' C actions on text): the text is kept, minus every identifying value of
 * the instance found in it (names and their parts, IDs, dates, addresses, institution and device
 * names: see identifyingValues) and minus anything shaped like a date, a long number (IDs, phone
 * numbers) or an e-mail address. Each removed run becomes "*". Deterministic, so the verifier
 * recomputes the expected text from the original and compares.
 */

import type { TableRow } from './types';
import { IdentityPattern } from '../util/regexCache';
import { TAG } from '../dicom/tags';

/** VRs whose text a C action keeps, cleaned; any other VR under C takes the basic action. */
export const CLEANABLE_TEXT_VRS: ReadonlySet<string> = new Set(['AE', 'LO', 'LT', 'SH', 'ST', 'UC', 'UT']);

/** Free text: what a person can type into (an AE title is a configured name, not free text). */
export const FREE_TEXT_VRS: ReadonlySet<string> = new Set(['LO', 'LT', 'SH', 'ST', 'UC', 'UT']);

/**
 * Sequences whose items are codes that identify a person or an institution (Code Sequence Macro):
 * their D replaces the items with one dummy code, since the codes inside are in no row of the table
 * and walking the items would keep them.
 */
export const IDENTIFYING_CODE_SEQUENCES: ReadonlySet<string> = new Set([
  TAG.PersonIdentificationCodeSequence, // PersonIdentificationCodeSequence
  TAG.InstitutionCodeSequence, // InstitutionCodeSequence
]);

/** The dummy code of a D on an identifying code sequence: a private coding scheme ("99" prefix, PS3.16 8.2), no meaning beyond "removed". */
export const REMOVED_CODE = Object.freeze({
  value: 'REMOVED',
  scheme: '99ORB',
  meaning: 'Removed by de-identification',
});

/**
 * The one dummy item a D on SR content writes: a TEXT item that says the content was removed
 * (RelationshipType, ValueType, concept and value are Type 1 for a TEXT content item, PS3.3 C.17.3).
 * Concept: DCM 121106 "Comment".
 */
export const REMOVED_CONTENT_TEXT = 'Removed by de-identification';

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

export type Scrub = (text: string) => string;

/**
 * A scrubber for one instance. `values` are its identifying values (searched anywhere, ignoring
 * case); `words` are short name parts, searched as whole words only.
 */
export function makeScrubber(values: readonly string[], words: readonly string[] = []): Scrub {
  const parts = [...new Set(values.map((v) => v.trim()).filter((v) => v.length > 0))].sort(
    (a, b) => b.length - a.length,
  );
  const wordParts = [...new Set(words.map((w) => w.trim()).filter((w) => w.length > 0))];
  const known = new IdentityPattern(parts, wordParts);
  return (text: string): string => {
    let out = known.empty ? text : known.replace(text, '*');
    for (const p of PATTERNS) out = out.replace(p, '*');
    return out;
  };
}
