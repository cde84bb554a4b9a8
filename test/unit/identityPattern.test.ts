import { IdentityPattern } from '../../src/util/regexCache';
import { seededRandom } from '../helpers/random';

/** The one alternation the engine and the gate used before: each word with its own letter classes. */
function oneAlternation(values: readonly string[], words: readonly string[]): RegExp {
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(
    [...values.map(escape), ...words.map((w) => `(?<![\\p{L}\\p{N}])${escape(w)}(?![\\p{L}\\p{N}])`)].join(
      '|',
    ),
    'giu',
  );
}

describe('identity pattern (values per instance, name parts compiled once)', () => {
  it('replaces exactly what the one alternation replaced, where a value and a name part overlap', () => {
    const cases: Array<[string[], string[], string]> = [
      [['E-123456789'], ['ANNE'], 'ANNE-123456789'], // a word before an overlapping value
      [['ANNE SMITH LTD'], ['ANNE'], 'paid by ANNE SMITH LTD, not anne'], // a value holding a word
      [['Smith'], ['Al'], 'Al Smith, Alan, al-Smith, ÀlAl'], // whole words only, any letters around
      [['x.y'], ['Ö'], 'x.y xzy Ö öÖ ö'], // escaped values, a non-ASCII word, case folded
      [[], ['DOE'], 'John Doe, doe2, Doe'],
      [['12345'], [], 'id 12345 and 123456'],
    ];
    for (const [values, words, text] of cases) {
      const p = new IdentityPattern(values, words);
      expect([text, p.replace(text, '*')]).toEqual([text, text.replace(oneAlternation(values, words), '*')]);
      expect([text, p.test(text)]).toEqual([text, oneAlternation(values, words).test(text)]);
    }
  });

  it('agrees with the one alternation on random texts built from its own values and words', () => {
    const random = seededRandom(26);
    const alphabet = ['a', 'N', 'é', 'Ö', '1', '2', ' ', '-', '^', '.', 'x'];
    const piece = (n: number): string =>
      Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let round = 0; round < 1000; round++) {
      const words = Array.from({ length: 1 + Math.floor(random() * 3) }, () =>
        piece(1 + Math.floor(random() * 3)),
      );
      const values = Array.from({ length: Math.floor(random() * 3) }, () =>
        piece(2 + Math.floor(random() * 5)),
      );
      const parts = [...words, ...values, ...Array.from({ length: 4 }, () => piece(3))];
      const text = Array.from({ length: 6 }, () => parts[Math.floor(random() * parts.length)]).join('');
      const sorted = [...values].sort((a, b) => b.length - a.length);
      const p = new IdentityPattern(sorted, words);
      const before = oneAlternation(sorted, words);
      expect([text, sorted, words, p.replace(text, '*')]).toEqual([
        text,
        sorted,
        words,
        text.replace(before, '*'),
      ]);
      expect(p.test(text)).toBe(oneAlternation(sorted, words).test(text));
    }
  });
});
