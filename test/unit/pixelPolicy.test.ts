import dcmjs from 'dcmjs';
import { parseDicom } from '../../src/deid/dicom';
import { STRICT_PIXEL_POLICY } from '../../src/deid/profile';
import type { Dataset } from '../../src/deid/types';
import type { TargetContext } from '../../src/pipeline/context';
import { prepare } from '../../src/pipeline/instance';
import { ctSlice, testContext } from '../helpers/samples';

/** The CT sample with some elements changed, written again as a file. */
function variant(changes: Dataset): Buffer {
  const { file } = ctSlice();
  const dd = new dcmjs.data.DicomDict({
    ...file.meta,
    '00020002': changes['00080016'] ?? file.meta['00020002']!,
  });
  dd.dict = { ...file.dict, ...changes };
  return Buffer.from(dd.write());
}

const ctxWith = (pixelPolicy = STRICT_PIXEL_POLICY) =>
  ({ deid: testContext({ pixelPolicy }) }) as unknown as TargetContext;

describe('pixel data policy', () => {
  it('quarantines an instance whose BurnedInAnnotation is YES, naming the tag', async () => {
    const out = await prepare(variant({ '00280301': { vr: 'CS', Value: ['YES'] } }), ctxWith());
    expect(out).toMatchObject({ kind: 'quarantined', check: 'pixel-policy', tag: '(0028,0301)' });
  });

  it('quarantines ultrasound and secondary capture by default, and lets them through when the profile allows', async () => {
    const us = variant({
      '00080060': { vr: 'CS', Value: ['US'] },
      '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.6.1'] },
    });
    expect(await prepare(us, ctxWith())).toMatchObject({ kind: 'quarantined', tag: '(0008,0016)' });
    const allowed = await prepare(
      us,
      ctxWith({
        allowBurnedInAnnotation: false,
        allowModalities: ['US'],
        allowSopClasses: ['1.2.840.10008.5.1.4.1.1.6.1'],
      }),
    );
    expect('kind' in allowed).toBe(false);
    const ot = variant({ '00080060': { vr: 'CS', Value: ['OT'] } });
    expect(await prepare(ot, ctxWith())).toMatchObject({ kind: 'quarantined', tag: '(0008,0060)' });
  });

  it('lets an ordinary CT image through and keeps it verifiable', async () => {
    const out = await prepare(ctSlice().bytes, ctxWith());
    expect('kind' in out).toBe(false);
    if (!('kind' in out))
      expect(parseDicom(Buffer.concat(out.parts)).dict['00080060']?.Value).toEqual(['CT']);
  });
});
