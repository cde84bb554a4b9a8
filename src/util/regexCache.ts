/**
 * Patterns for a patient's identifying values, compiled as cheaply as they can be.
 *
 * The engine's scrubber and the gate's needle each search text for an instance's identifying values
 * (anywhere, ignoring case) and for short name parts as whole words only, which takes Unicode letter
 * classes around them (`(?<![\p{L}\p{N}])...`). Compiling such a class under the `iu` flags costs
 * V8 about half a millisecond, once per class: with one pair per name part the patterns cost 1.3 ms
 * per instance, 180 ms of the main thread's 2.6 s on the benchmark corpus. Here the values, which
 * differ from instance to instance (UIDs, dates), compile without any class (0.06 ms), and the name
 * parts, which are the patient's, compile once under one pair of classes and are kept (the 64 most
 * recently used sets).
 *
 * `IdentityPattern` matches exactly as the single alternation `value|value|...|word|word` would:
 * leftmost match first, and at one position a value before a word.
 */
const MAX_ENTRIES = 64;
const cache = new Map<string, RegExp>();

/** A compiled pattern by source and flags, the most recently used kept. */
function cachedRegExp(source: string, flags: string): RegExp {
  const key = `${flags}/${source}`;
  let re = cache.get(key);
  if (re) {
    cache.delete(key); // most recently used last
  } else {
    re = new RegExp(source, flags);
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  }
  cache.set(key, re);
  return re;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class IdentityPattern {
  private readonly values: RegExp | undefined;
  private readonly words: RegExp | undefined;

  /** `values` in the order they are tried at one position (longest first, as the caller sorts them). */
  constructor(values: readonly string[], words: readonly string[]) {
    this.values = values.length > 0 ? new RegExp(values.map(escape).join('|'), 'giu') : undefined;
    this.words =
      words.length > 0
        ? cachedRegExp(`(?<![\\p{L}\\p{N}])(?:${words.map(escape).join('|')})(?![\\p{L}\\p{N}])`, 'giu')
        : undefined;
  }

  get empty(): boolean {
    return !this.values && !this.words;
  }

  /** The leftmost match at or after `from` (a value before a word at one position), or null. */
  private next(text: string, from: number): RegExpExecArray | null {
    const at = (re: RegExp | undefined): RegExpExecArray | null => {
      if (!re) return null;
      re.lastIndex = from;
      const m = re.exec(text);
      re.lastIndex = 0;
      return m;
    };
    const v = at(this.values);
    const w = at(this.words);
    if (!v) return w;
    if (!w) return v;
    return w.index < v.index ? w : v;
  }

  test(text: string): boolean {
    return this.next(text, 0) !== null;
  }

  /** Every match replaced by `by`, left to right, as `String.replace` with the one alternation would. */
  replace(text: string, by: string): string {
    let out = '';
    let at = 0;
    for (let m = this.next(text, 0); m; m = this.next(text, at)) {
      out += text.slice(at, m.index) + by;
      at = m.index + Math.max(1, m[0].length); // (values and words are never empty)
    }
    return at === 0 ? text : out + text.slice(at);
  }
}
