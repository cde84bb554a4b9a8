import { closeEngines } from '../../src/pixels/clean';
import { parseDicom, writeDicom } from '../../src/dicom/file';
import { deidentify } from '../../src/deid/engine';
import type { Dataset } from '../../src/deid/types';
import { newProcessState } from '../../src/pipeline/context';
import { cleanStage } from '../../src/pipeline/pixels';
import { pixelGate } from '../../src/verify/pixels';
import { decodeNative } from '../../src/pixels/codecs';
import { layoutOf, type DecodedImage } from '../../src/pixels/image';
import {
  applyMask,
  emptyMask,
  markBox,
  maskMismatch,
  markOutside,
  ultrasoundRegions,
} from '../../src/pixels/mask';
import type { BlankRule } from '../../src/pixels/regions';
import { STRICT_PIXEL_POLICY } from '../../src/deid/profile';
import { ctSlice, testContext } from '../helpers/samples';
import { TAG, formatTag } from '../../src/dicom/tags';

function image(
  o: {
    rows: number;
    columns: number;
    bits: 8 | 16;
    samples?: 1 | 3;
    planar?: number;
    photometric: string;
    frames?: number;
    stored?: number;
  },
  fill = 0x7f,
): Dataset {
  const bytes = o.rows * o.columns * (o.samples ?? 1) * (o.bits / 8) * (o.frames ?? 1);
  return {
    [TAG.SamplesPerPixel]: { vr: 'US', Value: [o.samples ?? 1] },
    [TAG.PhotometricInterpretation]: { vr: 'CS', Value: [o.photometric] },
    [TAG.PlanarConfiguration]: { vr: 'US', Value: [o.planar ?? 0] },
    [TAG.NumberOfFrames]: { vr: 'IS', Value: [String(o.frames ?? 1)] },
    [TAG.Rows]: { vr: 'US', Value: [o.rows] },
    [TAG.Columns]: { vr: 'US', Value: [o.columns] },
    [TAG.BitsAllocated]: { vr: 'US', Value: [o.bits] },
    [TAG.BitsStored]: { vr: 'US', Value: [o.stored ?? o.bits] },
    [TAG.PixelData]: { vr: o.bits === 8 ? 'OB' : 'OW', Value: [new Uint8Array(bytes).fill(fill).buffer] },
  };
}

function decoded(ds: Dataset, bigEndian = false): DecodedImage {
  const layout = layoutOf(ds);
  if (typeof layout === 'string') throw new Error(layout);
  const img = decodeNative(new Uint8Array(ds[TAG.PixelData]!.Value![0] as ArrayBuffer), layout, bigEndian);
  if (typeof img === 'string') throw new Error(img);
  return img;
}

describe('masks', () => {
  it('mask every sample of every frame of planar RGB, interleaving it, and nothing else', () => {
    const img = decoded(
      image({ rows: 4, columns: 4, bits: 8, samples: 3, planar: 1, photometric: 'RGB', frames: 2 }),
    );
    const mask = emptyMask(img);
    expect(markBox(mask, img, { x: 1, y: 1, width: 2, height: 1 })).toEqual({
      x: 1,
      y: 1,
      width: 2,
      height: 1,
    });
    const out = applyMask(img, mask).data;
    const zeros = [...out.keys()].filter((i) => out[i] === 0);
    // pixels 5 and 6 (row 1, columns 1-2), 3 interleaved samples each, in both 48-byte frames.
    expect(zeros).toEqual([15, 16, 17, 18, 19, 20, 63, 64, 65, 66, 67, 68]);
    expect(img.data.every((b) => b === 0x7f)).toBe(true); // input untouched
  });

  it('mask MONOCHROME1 with its highest stored value, read from either byte order', () => {
    const ds = image({ rows: 2, columns: 2, bits: 16, stored: 12, photometric: 'MONOCHROME1' }, 0);
    const img = decoded(ds, true);
    const mask = emptyMask(img);
    markBox(mask, img, { x: 0, y: 0, width: 1, height: 1 });
    const out = applyMask(img, mask);
    expect([...out.data.slice(0, 4)]).toEqual([0xff, 0x0f, 0, 0]); // 4095, little endian
    expect(maskMismatch(img, out, mask)).toBeUndefined();
    expect(maskMismatch(img, img, mask)).toMatch(/masked region is not constant/);
  });

  it('refuse an output whose unmasked pixels changed, and clip boxes to the image', () => {
    const img = decoded(image({ rows: 4, columns: 4, bits: 8, photometric: 'MONOCHROME2' }));
    const mask = emptyMask(img);
    expect(markBox(mask, img, { x: 3, y: 3, width: 5, height: 5 }, 1)).toEqual({
      x: 2,
      y: 2,
      width: 2,
      height: 2,
    });
    const out = applyMask(img, mask);
    const tampered = { ...out, data: out.data.slice() };
    tampered.data[0] = 1;
    expect(maskMismatch(img, tampered, mask)).toMatch(/outside the masked regions differ/);
  });

  it('mask everything outside the ultrasound regions', () => {
    const ds: Dataset = {
      ...image({ rows: 4, columns: 4, bits: 8, photometric: 'MONOCHROME2' }),
      [TAG.SequenceOfUltrasoundRegions]: {
        vr: 'SQ',
        Value: [
          {
            [TAG.RegionLocationMinX0]: { vr: 'UL', Value: [1] },
            [TAG.RegionLocationMinY0]: { vr: 'UL', Value: [1] },
            [TAG.RegionLocationMaxX1]: { vr: 'UL', Value: [2] },
            [TAG.RegionLocationMaxY1]: { vr: 'UL', Value: [2] },
          },
        ],
      },
    };
    const img = decoded(ds);
    const regions = ultrasoundRegions(ds, img)!;
    expect(regions).toEqual([{ x: 1, y: 1, width: 2, height: 2 }]);
    const mask = emptyMask(img);
    markOutside(mask, img, regions);
    expect([...mask]).toEqual([1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
  });

  it('name why an image cannot be decoded: bit depth, photometric, samples', () => {
    expect(
      layoutOf({
        ...image({ rows: 2, columns: 2, bits: 8, photometric: 'MONOCHROME2' }),
        [TAG.BitsAllocated]: { vr: 'US', Value: [32] },
      }),
    ).toMatch(/BitsAllocated is neither 8 nor 16/);
    expect(
      layoutOf(image({ rows: 2, columns: 2, bits: 8, samples: 3, photometric: 'YBR_PARTIAL_420' })),
    ).toMatch(/PhotometricInterpretation is not one the decoders support/);
    expect(layoutOf(image({ rows: 2, columns: 2, bits: 8, samples: 3, photometric: 'MONOCHROME2' }))).toMatch(
      /SamplesPerPixel does not match/,
    );
  });
});

describe('the gate with a blanking rule', () => {
  const state = newProcessState();
  afterAll(() => closeEngines(state.pixels));

  it('refuses an output whose configured rectangle is not blank', async () => {
    const { bytes, file } = ctSlice();
    const d = file.dict;
    const rule: BlankRule = {
      manufacturer: 'x',
      rows: d[TAG.Rows]!.Value![0] as number,
      columns: d[TAG.Columns]!.Value![0] as number,
      rectangles: [[0, 0, 4, 4]],
    };
    const profile = { ...testContext().profile, pixelPolicy: STRICT_PIXEL_POLICY };
    const cleaned = await cleanStage(bytes, file, { rule, ocr: false, profile, engines: state.pixels });
    if ('failures' in cleaned) throw new Error(cleaned.failures[0]!.detail);
    const ctx = testContext();
    // The de-identified original pixels, not the cleaned ones: the rectangle is not blank.
    const result = deidentify(file, ctx, { pixelsCleaned: true });
    const out = parseDicom(
      writeDicom({
        ...result.file,
        dict: { ...result.file.dict, [TAG.BurnedInAnnotation]: { vr: 'CS', Value: ['NO'] } },
      }),
    );
    const { failures, ran } = await pixelGate(cleaned, out, state.pixels, {
      maxMaskedFraction: 0.15,
      maxSecondsPerInstance: 300,
    });
    expect(failures.map((f) => [f.check, f.tag, f.detail])).toEqual([
      ['clean-pixels', formatTag(TAG.PixelData), 'a masked region is not constant in the output'],
    ]);
    // It stopped at the mask proof: the kept-pixels check did not run, and is not counted.
    expect(ran).toEqual(['clean-pixels']);
  });
});
