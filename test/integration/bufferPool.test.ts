/**
 * Pulled files in reused buffers (util/bufferPool.ts), through a real Orthanc pair: every instance
 * arrives exactly as the unpooled path would send it, while the buffers go from one instance to
 * the next; a destination that may read what it was sent after `store` settles never gets a
 * reused buffer.
 */
import { createHash } from 'node:crypto';
import { parseDicom } from '../../src/dicom/file';
import { TAG } from '../../src/dicom/tags';
import { str } from '../../src/dicom/values';
import { mapUid, deriveKeys } from '../../src/deid/keys';
import { OrthancDestination } from '../../src/destinations/orthanc';
import { OrthancClient } from '../../src/orthanc/client';
import { newProcessState, type TargetContext } from '../../src/pipeline/context';
import { newStageStats, processInstance } from '../../src/pipeline/instance';
import { closeEngines } from '../../src/pixels/clean';
import { mapPool } from '../../src/util/timing';
import { samePixelData } from '../../src/verify/instance';
import { makeCtStudy, makeMammoStudy, samplePatients, type SampleInstance } from '../fixtures/studies';
import { TestOrthanc } from '../helpers/orthanc';
import { TEST_SECRET, stageContext, testContext } from '../helpers/samples';

const clinical = new TestOrthanc('clinical');
const research = new TestOrthanc('research');
const state = newProcessState({ workers: 2, timeoutMs: 60_000 });
const [patient] = samplePatients(1);
const study: SampleInstance[] = [
  ...makeCtStudy(patient!, { studyIndex: 1, studyDate: '20240110', slices: 6, size: 512 }),
  ...makeMammoStudy(patient!, { studyIndex: 2, studyDate: '20240301', mammoRows: 1024, mammoColumns: 832 }),
];
const sourceIds: string[] = [];

function researchDestination(): OrthancDestination {
  return new OrthancDestination('research', {
    url: research.url,
    timeoutMs: 30_000,
    explorerUrl: research.url,
  });
}

function contextFor(
  destination: OrthancDestination | (OrthancDestination & { releasesParts: false }),
): TargetContext {
  return {
    ...stageContext(state, testContext()),
    source: new OrthancClient({ url: clinical.url, timeoutMs: 30_000, label: 'source' }),
    research: destination,
    exportTags: [],
  } as TargetContext;
}

async function carryAll(ctx: TargetContext): Promise<Array<{ md5: string; researchId: string }>> {
  const times = newStageStats();
  return mapPool(sourceIds, 2, async (id) => {
    const o = await processInstance(id, ctx, { replace: false, times });
    if (o.kind !== 'pushed') throw new Error(`${o.check}: ${o.reason}`);
    return { md5: o.md5, researchId: o.researchId };
  });
}

beforeAll(async () => {
  await Promise.all([clinical.start(), research.start()]);
  for (const inst of study) sourceIds.push((await clinical.upload(inst.bytes)).ID);
});

afterAll(async () => {
  await closeEngines(state.pixels);
  await Promise.all([clinical.destroy(), research.destroy()]);
});

describe('pulled files in reused buffers, on a real Orthanc pair', () => {
  it('carries every instance exactly while its buffers pass from one instance to the next', async () => {
    const before = state.buffers!.stats;
    const pushed = await carryAll(contextFor(researchDestination()));
    const after = state.buffers!.stats;
    // Ten files of 0.5-1.7 MB, two at a time: at most a few new blocks, the rest reused.
    expect(after.hits - before.hits).toBeGreaterThanOrEqual(study.length - 4);
    const keys = deriveKeys(TEST_SECRET);
    for (const [i, p] of pushed.entries()) {
      // What research holds is what the bridge hashed as it sent it (no block reused under it)...
      const held = (await research.call('GET', `/instances/${p.researchId}/file`)).body;
      expect(createHash('md5').update(held).digest('hex')).toBe(p.md5);
      // ...and that is this instance's own image, not another's.
      const out = parseDicom(held).dict;
      const orig = parseDicom(study[i]!.bytes).dict;
      expect(str(out[TAG.SOPInstanceUID])).toBe(mapUid(keys, str(orig[TAG.SOPInstanceUID])));
      expect(samePixelData(out, orig)).toBe(true);
    }
  });

  it('never reuses the file of an instance sent to a destination that may read it after storing', async () => {
    for (const id of await research.get<string[]>('/instances'))
      await research.call('DELETE', `/instances/${id}`);
    const dest = researchDestination();
    const streaming = Object.assign(Object.create(dest) as OrthancDestination, {
      releasesParts: false as const,
    });
    const before = state.buffers!.stats;
    const pushed = await carryAll(contextFor(streaming));
    expect(pushed).toHaveLength(study.length);
    expect(state.buffers!.stats.hits).toBe(before.hits);
    expect(state.buffers!.stats.misses).toBe(before.misses);
  });
});
