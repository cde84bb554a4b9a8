import { closeEngines } from '../../src/pixels/clean';
import dcmjs from 'dcmjs';
import { parseDicom } from '../../src/dicom/file';
import { STRICT_PIXEL_POLICY } from '../../src/deid/profile';
import type { Dataset } from '../../src/deid/types';
import { newProcessState, type TargetContext } from '../../src/pipeline/context';
import { prepare } from '../../src/pipeline/instance';
import { ctSlice, testContext } from '../helpers/samples';
import { ByteBudget } from '../../src/util/budget';
import { TAG, formatTag } from '../../src/dicom/tags';
import { SOP_CLASS } from '../../src/dicom/sopClasses';
import { TRANSFER_SYNTAX } from '../../src/dicom/syntaxes';

/** The CT sample with some elements changed, written again as a file. */
function variant(changes: Dataset): Buffer {
  const { file } = ctSlice();
  const dd = new dcmjs.data.DicomDict({
    ...file.meta,
    [TAG.MediaStorageSOPClassUID]: changes[TAG.SOPClassUID] ?? file.meta[TAG.MediaStorageSOPClassUID]!,
  });
  dd.dict = { ...file.dict, ...changes };
  return Buffer.from(dd.write());
}

const state = newProcessState();
afterAll(() => closeEngines(state.pixels));

const ctxWith = (pixelPolicy = STRICT_PIXEL_POLICY) =>
  ({
    deid: testContext({ pixelPolicy }),
    state,
    budget: new ByteBudget(512 << 20),
  }) as unknown as TargetContext;

describe('pixel data policy', () => {
  it('quarantines an instance whose BurnedInAnnotation is YES, naming the tag', async () => {
    const out = await prepare(variant({ [TAG.BurnedInAnnotation]: { vr: 'CS', Value: ['YES'] } }), ctxWith());
    expect(out).toMatchObject({
      kind: 'quarantined',
      check: 'pixel-policy',
      tag: formatTag(TAG.BurnedInAnnotation),
    });
  });

  it('with OCR masking off, quarantines ultrasound and secondary capture, and lets them through when the profile allows', async () => {
    const us = variant({
      [TAG.Modality]: { vr: 'CS', Value: ['US'] },
      [TAG.SOPClassUID]: { vr: 'UI', Value: [SOP_CLASS.UltrasoundImageStorage] },
    });
    expect(await prepare(us, ctxWith())).toMatchObject({
      kind: 'quarantined',
      tag: formatTag(TAG.SOPClassUID),
    });
    const allowed = await prepare(
      us,
      ctxWith({
        ...STRICT_PIXEL_POLICY,
        allowBurnedInAnnotation: false,
        allowModalities: ['US'],
        allowSopClasses: [SOP_CLASS.UltrasoundImageStorage],
        blank: [],
      }),
    );
    expect('kind' in allowed).toBe(false);
    const ot = variant({ [TAG.Modality]: { vr: 'CS', Value: ['OT'] } });
    expect(await prepare(ot, ctxWith())).toMatchObject({ kind: 'quarantined', tag: formatTag(TAG.Modality) });
  });

  it('lets an ordinary CT image through and keeps it verifiable', async () => {
    const out = await prepare(ctSlice().bytes, ctxWith());
    expect('kind' in out).toBe(false);
    if (!('kind' in out))
      expect(parseDicom(Buffer.concat(out.parts)).dict[TAG.Modality]?.Value).toEqual(['CT']);
  });

  describe('blanking configured rectangles', () => {
    const US: Dataset = {
      [TAG.Modality]: { vr: 'CS', Value: ['US'] },
      [TAG.SOPClassUID]: { vr: 'UI', Value: [SOP_CLASS.UltrasoundImageStorage] },
      [TAG.Manufacturer]: { vr: 'LO', Value: ['Synth Sonics'] },
      [TAG.ManufacturerModelName]: { vr: 'LO', Value: ['S-1'] },
      [TAG.BurnedInAnnotation]: { vr: 'CS', Value: ['YES'] },
    };
    const size = () => {
      const d = ctSlice().file.dict;
      return { rows: d[TAG.Rows]!.Value![0] as number, columns: d[TAG.Columns]!.Value![0] as number };
    };
    const rule = () => ({
      manufacturer: 'SYNTH SONICS',
      model: 's-1',
      ...size(),
      rectangles: [[0, 0, 16, 8]] as [number, number, number, number][],
    });

    it('blanks the rectangles of a matching instance, marks it cleaned and lets it through', async () => {
      const bytes = variant(US);
      const out = await prepare(bytes, ctxWith({ ...STRICT_PIXEL_POLICY, blank: [rule()] }));
      expect('kind' in out).toBe(false);
      if ('kind' in out) return;
      const d = parseDicom(Buffer.concat(out.parts)).dict;
      const before = new Uint16Array(parseDicom(bytes).dict[TAG.PixelData]!.Value![0] as ArrayBuffer);
      const after = new Uint16Array(d[TAG.PixelData]!.Value![0] as ArrayBuffer);
      const { columns } = size();
      let blankInside = true;
      let sameOutside = true;
      for (let i = 0; i < after.length; i++) {
        const inside = i % columns < 16 && Math.floor(i / columns) < 8;
        if (inside && after[i] !== 0) blankInside = false;
        if (!inside && after[i] !== before[i]) sameOutside = false;
      }
      expect({ blankInside, sameOutside }).toEqual({ blankInside: true, sameOutside: true });
      expect(before.slice(0, 16).some((v) => v !== 0)).toBe(true); // there was something to blank
      expect(d[TAG.BurnedInAnnotation]?.Value).toEqual(['NO']);
      const codes = (d[TAG.DeidentificationMethodCodeSequence]!.Value as Dataset[]).map(
        (item) => item[TAG.CodeValue]!.Value![0],
      );
      expect(codes).toEqual(['113100', '113101', '113108', '113107']);
    });

    it('keeps quarantining an instance no rule names (another model or size)', async () => {
      const other = { ...rule(), model: 'S-2' };
      const out = await prepare(variant(US), ctxWith({ ...STRICT_PIXEL_POLICY, blank: [other] }));
      expect(out).toMatchObject({
        kind: 'quarantined',
        check: 'pixel-policy',
        tag: formatTag(TAG.BurnedInAnnotation),
      });
    });

    it('quarantines a matching instance whose compressed pixel data cannot be decoded, saying why', async () => {
      const { file } = ctSlice();
      const dd = new dcmjs.data.DicomDict({
        ...file.meta,
        [TAG.TransferSyntaxUID]: { vr: 'UI', Value: [TRANSFER_SYNTAX.JPEGBaseline8Bit] },
      });
      dd.dict = {
        ...file.dict,
        ...US,
        [TAG.PixelData]: { vr: 'OB', Value: [new Uint8Array([0xff, 0xd8, 0xff, 0xd9]).buffer] },
      };
      const out = await prepare(
        Buffer.from(dd.write()),
        ctxWith({ ...STRICT_PIXEL_POLICY, blank: [rule()] }),
      );
      expect(out).toMatchObject({
        kind: 'quarantined',
        check: 'pixel-policy',
        tag: formatTag(TAG.PixelData),
      });
      expect((out as { reason: string }).reason).toMatch(
        /JPEG frame has no readable start-of-frame.*cannot be cleaned/,
      );
    });
  });
});
