import { parseDicom, writeDicom } from '../../src/deid/dicom';
import { deidentify } from '../../src/deid/engine';
import { verifyInstance } from '../../src/verify/instance';
import { ctSlice, testContext } from '../helpers/samples';
import { blankPixels, rectanglesBlank, type BlankRule } from '../../src/deid/pixels';
import type { Dataset } from '../../src/deid/types';

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';

function image(
  o: {
    rows: number;
    columns: number;
    bits: 8 | 16;
    samples?: number;
    planar?: number;
    photometric: string;
    frames?: number;
    stored?: number;
  },
  fill = 0x7f,
): Dataset {
  const bytes = o.rows * o.columns * (o.samples ?? 1) * (o.bits / 8) * (o.frames ?? 1);
  return {
    '00280002': { vr: 'US', Value: [o.samples ?? 1] },
    '00280004': { vr: 'CS', Value: [o.photometric] },
    '00280006': { vr: 'US', Value: [o.planar ?? 0] },
    '00280008': { vr: 'IS', Value: [String(o.frames ?? 1)] },
    '00280010': { vr: 'US', Value: [o.rows] },
    '00280011': { vr: 'US', Value: [o.columns] },
    '00280100': { vr: 'US', Value: [o.bits] },
    '00280101': { vr: 'US', Value: [o.stored ?? o.bits] },
    '7FE00010': { vr: o.bits === 8 ? 'OB' : 'OW', Value: [new Uint8Array(bytes).fill(fill).buffer] },
  };
}

const rule = (rows: number, columns: number, rectangles: BlankRule['rectangles']): BlankRule => ({
  manufacturer: 'x',
  rows,
  columns,
  rectangles,
});

describe('blankPixels', () => {
  it('blanks every sample plane of every frame for planar RGB, and nothing else', () => {
    const ds = image({ rows: 4, columns: 4, bits: 8, samples: 3, planar: 1, photometric: 'RGB', frames: 2 });
    const out = new Uint8Array(blankPixels(ds, rule(4, 4, [[1, 1, 2, 1]]), EXPLICIT_LE) as ArrayBuffer);
    const zeros = [...out.keys()].filter((i) => out[i] === 0);
    // 2 pixels x 3 planes x 2 frames; row 1, columns 1-2 of each 16-byte plane.
    expect(zeros).toEqual([5, 6, 21, 22, 37, 38, 53, 54, 69, 70, 85, 86]);
    expect(new Uint8Array(ds['7FE00010']!.Value![0] as ArrayBuffer).every((b) => b === 0x7f)).toBe(true); // input untouched
  });

  it('blanks MONOCHROME1 to its highest stored value, in the syntax byte order', () => {
    const ds = image({ rows: 2, columns: 2, bits: 16, stored: 12, photometric: 'MONOCHROME1' }, 0);
    const r = rule(2, 2, [[0, 0, 1, 1]]);
    const be = new Uint8Array(blankPixels(ds, r, EXPLICIT_BE) as ArrayBuffer);
    expect([...be.slice(0, 4)]).toEqual([0x0f, 0xff, 0, 0]);
    const le = blankPixels(ds, r, EXPLICIT_LE) as ArrayBuffer;
    expect(new DataView(le).getUint16(0, true)).toBe(4095);
    expect(rectanglesBlank({ ...ds, '7FE00010': { vr: 'OW', Value: [le] } }, r, EXPLICIT_LE)).toBe(true);
    expect(rectanglesBlank(ds, r, EXPLICIT_LE)).toBe(false);
  });

  it('says why it cannot blank: compressed syntax, unsupported photometric or bit depth', () => {
    const mono = image({ rows: 2, columns: 2, bits: 8, photometric: 'MONOCHROME2' });
    expect(blankPixels(mono, rule(2, 2, [[0, 0, 1, 1]]), '1.2.840.10008.1.2.4.70')).toMatch(/compressed/);
    expect(
      blankPixels(
        image({ rows: 2, columns: 2, bits: 8, samples: 3, photometric: 'YBR_FULL' }),
        rule(2, 2, [[0, 0, 1, 1]]),
        EXPLICIT_LE,
      ),
    ).toMatch(/PhotometricInterpretation is not one that can be blanked/);
    const ds32 = { ...mono, '00280100': { vr: 'US', Value: [32] } };
    expect(blankPixels(ds32, rule(2, 2, [[0, 0, 1, 1]]), EXPLICIT_LE)).toMatch(
      /BitsAllocated is neither 8 nor 16/,
    );
  });
});

describe('the gate with a blanking rule', () => {
  it('refuses an output whose configured rectangle is not blank', () => {
    const { file } = ctSlice();
    const ctx = testContext();
    const result = deidentify(file, ctx, { pixelsCleaned: true });
    const out = parseDicom(writeDicom(result.file));
    const d = file.dict;
    const r = rule(d['00280010']!.Value![0] as number, d['00280011']!.Value![0] as number, [[0, 0, 4, 4]]);
    const verdict = verifyInstance(file, out, ctx, result.patient, { rule: r, syntax: EXPLICIT_LE });
    expect(verdict.failures.map((f) => [f.check, f.tag])).toEqual([['clean-pixels', '(7FE0,0010)']]);
  });
});
