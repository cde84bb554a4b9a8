/**
 * The header stages in worker threads (issue 26): the same output as on the main thread, byte for
 * byte, the gate's findings carried back, a job over its time limit ended with its worker (a new
 * one takes the next job), and several instances at once on several workers.
 */
import { parseDicom, writeDicom, type DicomFile } from '../../src/dicom/file';
import { deidentify } from '../../src/deid/engine';
import type { Dataset } from '../../src/deid/types';
import { SOP_CLASS } from '../../src/dicom/sopClasses';
import { TAG, formatTag } from '../../src/dicom/tags';
import { str } from '../../src/dicom/values';
import { DeidPool } from '../../src/pipeline/deidPool';
import { splitAtPixelData } from '../../src/pipeline/instance';
import { ctSlice, testContext } from '../helpers/samples';

const MAX_INFLATED = 64 << 20;

/** The sample CT slice as an enhanced MR with `frames` per-frame functional group items. */
function enhanced(frames: number, extra: Dataset = {}): DicomFile {
  const { file } = ctSlice();
  const item = (n: number): Dataset => ({
    [TAG.FrameContentSequence]: {
      vr: 'SQ',
      Value: [
        {
          [TAG.FrameAcquisitionNumber]: { vr: 'US', Value: [n] },
          [TAG.FrameAcquisitionDateTime]: { vr: 'DT', Value: ['20240115101500.000000'] },
        },
      ],
    },
  });
  const dict: Dataset = {
    ...file.dict,
    ...extra,
    [TAG.SOPClassUID]: { vr: 'UI', Value: [SOP_CLASS.EnhancedMRImageStorage] },
    [TAG.PerFrameFunctionalGroupsSequence]: {
      vr: 'SQ',
      Value: Array.from({ length: frames }, (_, n) => item(n + 1)),
    },
  };
  return parseDicom(writeDicom({ meta: file.meta, dict }));
}

const pools: DeidPool[] = [];
function pool(workers: number, timeoutMs = 60_000): DeidPool {
  const p = new DeidPool({ workers, timeoutMs });
  pools.push(p);
  return p;
}
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

describe('the de-identification worker pool', () => {
  it('writes the same header as the main thread, byte for byte, and passes the gate', async () => {
    const ctx = testContext();
    const file = enhanced(200);
    const head = splitAtPixelData(writeDicom(file)).head;
    const r = await pool(1).run(head, ctx, MAX_INFLATED);
    if ('error' in r) throw new Error(r.error);
    const main = writeDicom(deidentify(parseDicom(head), ctx).file);
    expect(Buffer.from(r.bytes).equals(main)).toBe(true);
    expect(r.failures).toEqual([]);
    expect(r.ran).toContain('iod');
    expect(str(r.top[TAG.PatientID])).toBe(r.patient.pseudonym);
    expect(r.top[TAG.PerFrameFunctionalGroupsSequence]).toBeUndefined(); // sequences stay in the worker
  });

  it("carries the gate's findings back: an identity in a kept element is quarantined there too", async () => {
    const ctx = testContext();
    const family = str(ctSlice().file.dict[TAG.PatientName]).split('^')[0]!;
    const file = enhanced(10, { [TAG.ManufacturerModelName]: { vr: 'LO', Value: [family] } });
    const r = await pool(1).run(splitAtPixelData(writeDicom(file)).head, ctx, MAX_INFLATED);
    if ('error' in r) throw new Error(r.error);
    expect(r.failures.map((f) => `${f.check} ${f.tag}`)).toContain(
      `residual-phi ${formatTag(TAG.ManufacturerModelName)}`,
    );
  });

  it('ends a worker that overruns its time limit, fails that instance with the reason, and goes on with a new worker', async () => {
    const ctx = testContext();
    const p = pool(1, 1);
    const r = await p.run(splitAtPixelData(writeDicom(enhanced(3000))).head, ctx, MAX_INFLATED);
    expect(r).toEqual({ error: 'de-identifying the header took longer than 1 ms', parse: false });
    expect(p.replaced).toBe(1);
    const small = splitAtPixelData(writeDicom(enhanced(1))).head;
    const relaxed = pool(1);
    const ok = await relaxed.run(small, ctx, MAX_INFLATED);
    expect('error' in ok).toBe(false);
  });

  it('runs several instances at once on several workers, each answer to its own instance', async () => {
    const ctx = testContext();
    const p = pool(2);
    const heads = [5, 50, 500, 7].map((n) => splitAtPixelData(writeDicom(enhanced(n))).head);
    const answers = await Promise.all(heads.map((h) => p.run(h, ctx, MAX_INFLATED)));
    answers.forEach((a, i) => {
      if ('error' in a) throw new Error(a.error);
      const frames = parseDicom(Buffer.from(a.bytes)).dict[TAG.PerFrameFunctionalGroupsSequence]?.Value ?? [];
      expect(frames).toHaveLength([5, 50, 500, 7][i]!);
    });
  });
});
