/**
 * Compiled regular expressions by source and flags, the most recently used kept. The engine and the
 * gate each build one pattern per instance from the patient's identifying values, with Unicode
 * letter classes around short name parts: compiling it cost 180 ms of the main thread's 2.6 s on
 * the benchmark corpus, where a study's instances share one patient and so one pattern.
 *
 * Sharing is safe for how they are used: `test` on a pattern without `g`, and `replace` (which
 * starts a `g` pattern from index 0 and leaves it there), synchronously, on one thread.
 */
const MAX_ENTRIES = 64;
const cache = new Map<string, RegExp>();

export function cachedRegExp(source: string, flags: string): RegExp {
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
