/**
 * The engine over the generated corpus: every character set, transfer syntax, nested private
 * sequences and odd VRs. Each file must come out de-identified and through the gate, in its own
 * transfer syntax, with its pixel data byte for byte, its kept texts as the same Unicode text, and
 * none of its planted values.
 */
import { parseDicom, writeDicom } from '../../src/deid/dicom';
import { deidentify, str } from '../../src/deid/engine';
import { locatePixelData } from '../../src/deid/scan';
import { corpus, TRANSFER_SYNTAXES } from '../../src/sample/corpus';
import { verifyInstance } from '../../src/verify/instance';
import { splitAtPixelData } from '../../src/pipeline/instance';
import { testContext } from '../helpers/samples';

const files = corpus();

describe('engine over the corpus', () => {
  const ctx = testContext();

  it('covers every charset and transfer syntax of the generator', () => {
    expect(new Set(files.map((f) => f.charset.name)).size).toBe(14);
    expect(new Set(files.map((f) => f.syntax))).toEqual(new Set(Object.keys(TRANSFER_SYNTAXES)));
  });

  it.each(files.map((f) => [f.name, f] as const))(
    '%s: decoded, de-identified, verified, syntax and pixels kept',
    (_n, f) => {
      const original = parseDicom(f.bytes);
      const [alphabetic, ideographic] = f.charset.patientName.split('=');
      const name = original.dict['00100010']!.Value![0] as { Alphabetic: string; Ideographic?: string };
      expect(name.Alphabetic).toBe(alphabetic);
      if (ideographic) expect(name.Ideographic).toBe(ideographic);
      expect(str(original.dict['00080070'])).toBe(f.charset.manufacturer);
      const nestedMeaning = (original.dict['00082218']!.Value![0] as Record<string, { Value?: unknown[] }>)[
        '00080104'
      ];
      expect(nestedMeaning?.Value?.[0]).toBe(f.charset.manufacturer);

      const result = deidentify(original, ctx);
      const written = writeDicom(result.file);
      const out = parseDicom(written);
      expect(verifyInstance(original, out, ctx, result.patient).failures).toEqual([]);
      expect(out.meta['00020010']!.Value![0]).toBe(TRANSFER_SYNTAXES[f.syntax]);
      expect(str(out.dict['00080005'])).toBe('ISO_IR 192');
      expect(str(out.dict['00080070'])).toBe(f.charset.manufacturer);
      expect(str(out.dict['00100010'])).toBe(result.patient.pseudonym);
      expect(Object.keys(out.dict).some((t) => parseInt(t.slice(0, 4), 16) % 2 === 1)).toBe(false);
      const haystack = [written.toString('latin1'), written.toString('utf8')].join('\n').toLowerCase();
      for (const v of f.planted)
        expect({ v: v.length, found: haystack.includes(v.toLowerCase()) }).toEqual({
          v: v.length,
          found: false,
        });

      // The bridge's path: header de-identified, original Pixel Data element spliced after it.
      if (f.syntax !== 'deflated') {
        const { head, pixel } = splitAtPixelData(f.bytes);
        expect(pixel).not.toBeNull();
        const spliced = Buffer.concat([writeDicom(deidentify(parseDicom(head), ctx).file), pixel!]);
        const loc = locatePixelData(spliced)!;
        expect(spliced.subarray(loc.end - f.pixelValue.length, loc.end).equals(f.pixelValue)).toBe(true);
        expect(verifyInstance(original, parseDicom(spliced), ctx, result.patient).failures).toEqual([]);
      } else {
        const el = out.dict['7FE00010']!;
        expect(Buffer.from(el.Value![0] as ArrayBuffer).equals(f.pixelValue)).toBe(true);
      }
    },
  );
});
