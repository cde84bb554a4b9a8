/**
 * The engine over the generated corpus: every character set, transfer syntax, nested private
 * sequences and odd VRs. Each file must come out de-identified and through the gate, in its own
 * transfer syntax, with its pixel data byte for byte, its kept texts as the same Unicode text, and
 * none of its planted values.
 */
import { parseDicom, writeDicom } from '../../src/dicom/file';
import { deidentify } from '../../src/deid/engine';
import { rowForTag } from '../../src/deid/profile';
import { locatePixelData } from '../../src/dicom/scan';
import { LONG_VRS } from '../../src/dicom/vr';
import { corpus, TRANSFER_SYNTAXES } from '../fixtures/corpus';
import { verifyInstance } from '../../src/verify/instance';
import { splitAtPixelData } from '../../src/pipeline/instance';
import { testContext } from '../helpers/samples';
import { str } from '../../src/dicom/values';
import { TAG } from '../../src/dicom/tags';

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
      const name = original.dict[TAG.PatientName]!.Value![0] as { Alphabetic: string; Ideographic?: string };
      expect(name.Alphabetic).toBe(alphabetic);
      if (ideographic) expect(name.Ideographic).toBe(ideographic);
      expect(str(original.dict[TAG.Manufacturer])).toBe(f.charset.manufacturer);
      const nestedMeaning = (
        original.dict[TAG.AnatomicRegionSequence]!.Value![0] as Record<string, { Value?: unknown[] }>
      )[TAG.CodeMeaning];
      expect(nestedMeaning?.Value?.[0]).toBe(f.charset.manufacturer);

      const result = deidentify(original, ctx);
      const written = writeDicom(result.file);
      const out = parseDicom(written);
      expect(verifyInstance(original, out, ctx, result.patient).failures).toEqual([]);
      expect(out.meta[TAG.TransferSyntaxUID]!.Value![0]).toBe(TRANSFER_SYNTAXES[f.syntax]);
      expect(str(out.dict[TAG.SpecificCharacterSet])).toBe('ISO_IR 192');
      expect(str(out.dict[TAG.Manufacturer])).toBe(f.charset.manufacturer);
      expect(str(out.dict[TAG.PatientName])).toBe(result.patient.pseudonym);
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
        const el = out.dict[TAG.PixelData]!;
        expect(Buffer.from(el.Value![0] as ArrayBuffer).equals(f.pixelValue)).toBe(true);
      }
    },
  );
});

/** Walks explicit VR little endian elements from `pos` to `end` (or an item delimiter); returns tag -> bytes of each and the end offset. */
function walkElements(
  bytes: Buffer,
  pos: number,
  end: number,
): { elements: Map<string, Buffer>; next: number } {
  const elements = new Map<string, Buffer>();
  while (pos + 8 <= end) {
    const group = bytes.readUInt16LE(pos);
    const element = bytes.readUInt16LE(pos + 2);
    if (group === 0xfffe) return { elements, next: pos + 8 }; // item delimiter
    const tag = (group.toString(16).padStart(4, '0') + element.toString(16).padStart(4, '0')).toUpperCase();
    const vr = bytes.toString('latin1', pos + 4, pos + 6);
    const long = LONG_VRS.has(vr);
    const length = long ? bytes.readUInt32LE(pos + 8) : bytes.readUInt16LE(pos + 6);
    let next = pos + (long ? 12 : 8);
    if (length === 0xffffffff) {
      // Sequence items up to the sequence delimiter, each of defined or undefined length.
      for (;;) {
        const itemLength = bytes.readUInt32LE(next + 4);
        const isDelimiter = bytes.readUInt16LE(next + 2) === 0xe0dd;
        next += 8;
        if (isDelimiter) break;
        next = itemLength === 0xffffffff ? walkElements(bytes, next, end).next : next + itemLength;
      }
    } else next += length;
    elements.set(tag, bytes.subarray(pos, next));
    pos = next;
  }
  return { elements, next: pos };
}

const topLevelElements = (bytes: Buffer) => walkElements(bytes, 132, bytes.length).elements;

/**
 * The elements inside a sequence element, as bytes, in order. Item framing is left out: dcmjs
 * writes items with undefined length where the original may give lengths, which is an encoding of
 * the same content.
 */
function nestedLeaves(el: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 12;
  while (pos + 8 <= el.length && el.readUInt16LE(pos + 2) !== 0xe0dd) {
    const itemLength = el.readUInt32LE(pos + 4);
    const end = itemLength === 0xffffffff ? el.length : pos + 8 + itemLength;
    const { elements, next } = walkElements(el, pos + 8, end);
    for (const child of elements.values())
      out.push(...(child.toString('latin1', 4, 6) === 'SQ' ? nestedLeaves(child) : [child]));
    pos = itemLength === 0xffffffff ? next : end;
  }
  return out;
}

function sameBytes(a: Buffer | undefined, b: Buffer): boolean {
  if (!a) return false;
  if (b.toString('latin1', 4, 6) !== 'SQ') return a.equals(b);
  const x = nestedLeaves(a);
  const y = nestedLeaves(b);
  return x.length === y.length && x.every((leaf, i) => leaf.equals(y[i]!));
}

describe('round trip', () => {
  it('leaves every element outside the profile byte for byte as it was (UTF-8 and default repertoire files)', () => {
    const ctx = testContext();
    for (const f of files.filter((x) => x.syntax === 'explicitLE' && /UTF-8|default/.test(x.charset.name))) {
      const out = writeDicom(deidentify(parseDicom(f.bytes), ctx).file);
      const before = topLevelElements(f.bytes);
      const after = topLevelElements(out);
      // Outside the profile: not in Table E.1-1, not a UID (remapped), not group 0002/0008,0005
      // (file meta and character set are rewritten on purpose), not private (removed).
      const outside = [...before.keys()].filter(
        (tag) =>
          !tag.startsWith('0002') &&
          tag !== TAG.SpecificCharacterSet &&
          parseInt(tag.slice(0, 4), 16) % 2 === 0 &&
          !rowForTag(tag) &&
          before.get(tag)!.toString('latin1', 4, 6) !== 'UI',
      );
      expect(outside.length).toBeGreaterThanOrEqual(8);
      for (const tag of outside) {
        const same = sameBytes(after.get(tag), before.get(tag)!);
        expect({ tag, same }).toEqual({ tag, same: true });
      }
    }
  });
});
