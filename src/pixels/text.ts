/**
 * What counts as identifying in text read from pixels: a value of the header that identifies
 * someone (a name, an ID, an accession number...), a date, a time, or a long number. OCR misreads
 * (O for 0, a dropped letter), so the comparison is on upper-case letters and digits, tolerates one
 * edit in longer tokens, and looks for a name part inside a longer run ("DOE^JOHN" read as
 * "DOEJOHN"). Nothing here keeps or returns the text itself: callers get a kind, for reasons.
 */

export type TextKind = 'identity value' | 'date' | 'time' | 'long number';

/** The shortest identity token compared (shorter ones match too much ordinary text). */
const MIN_TOKEN = 3;

export function normalise(text: string): string {
  return text.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/** Upper-case alphanumeric tokens of identity values, at least MIN_TOKEN long, and each whole value. */
export function identityTokens(values: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const v of values) {
    const whole = normalise(v);
    if (whole.length >= MIN_TOKEN) out.add(whole);
    for (const part of v.split(/[^A-Za-z0-9]+/)) {
      const t = normalise(part);
      if (t.length >= MIN_TOKEN) out.add(t);
    }
  }
  return out;
}

/** Levenshtein distance, stopping early past `limit`. */
function withinEdits(a: string, b: string, limit: number): boolean {
  if (Math.abs(a.length - b.length) > limit) return false;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      best = Math.min(best, v);
    }
    if (best > limit) return false;
    prev = cur;
  }
  return prev[b.length]! <= limit;
}

/** OCR confusions between letters and digits, folded before comparing with identity tokens. */
const FOLD: Readonly<Record<string, string>> = {
  O: '0',
  Q: '0',
  D: '0',
  I: '1',
  L: '1',
  Z: '2',
  S: '5',
  B: '8',
  G: '6',
};
function fold(t: string): string {
  return t.replace(/[OQDILZSBG]/g, (c) => FOLD[c]!);
}

const MONTHS = 'JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC';
const DATE_PATTERNS = [
  /\d{1,4}\s?[-./]\s?\d{1,2}\s?[-./]\s?\d{2,4}/,
  new RegExp(`\\d{1,2}[- .]?(${MONTHS})[A-Z]*[- .,]?\\d{2,4}`, 'i'),
  new RegExp(`(${MONTHS})[A-Z]*[- .]?\\d{1,2}[,.]?[- ]?\\d{2,4}`, 'i'),
];
const TIME_PATTERN = /\d{1,2}\s?[:h]\s?\d{2}(\s?:\s?\d{2})?/i;
/** Five digits or more: IDs, accession numbers, phone numbers, dates without separators. */
const LONG_NUMBER = 5;

/**
 * The kind of identifying text in a word or line read from pixels, or undefined. `tokens` are the
 * identity tokens of the instance's header (identityTokens).
 */
export function identifyingKind(text: string, tokens: ReadonlySet<string>): TextKind | undefined {
  if (DATE_PATTERNS.some((p) => p.test(text))) return 'date';
  if (TIME_PATTERN.test(text)) return 'time';
  const digits = text.replace(/[\s\-./:]/g, '').match(/\d+/g) ?? [];
  if (digits.some((d) => d.length >= LONG_NUMBER)) return 'long number';
  const word = normalise(text);
  if (word.length < MIN_TOKEN) return undefined;
  const folded = fold(word);
  for (const token of tokens) {
    if (word === token || folded === fold(token)) return 'identity value';
    // A token inside a longer run of letters: names read without their separator.
    if (token.length >= 4 && word.length > token.length && word.includes(token)) return 'identity value';
    if (token.length >= 5 && withinEdits(word, token, 1)) return 'identity value';
  }
  return undefined;
}

/**
 * The words, of a list read line by line, that are identifying alone or together with up to two
 * neighbours on the same line ("2024 03 05", "JOHN DOE"), with the first kind found.
 */
export function identifyingWords<W extends { readonly text: string; readonly line: number }>(
  words: readonly W[],
  tokens: ReadonlySet<string>,
): { readonly indexes: ReadonlySet<number>; readonly kind?: TextKind } {
  const indexes = new Set<number>();
  let first: TextKind | undefined;
  for (let i = 0; i < words.length; i++) {
    let text = '';
    for (let n = 0; n < 3 && i + n < words.length && words[i + n]!.line === words[i]!.line; n++) {
      text = n === 0 ? words[i]!.text : `${text} ${words[i + n]!.text}`;
      const kind = identifyingKind(text, tokens);
      if (!kind) continue;
      first ??= kind;
      for (let k = 0; k <= n; k++) indexes.add(i + k);
    }
  }
  return { indexes, kind: first };
}
