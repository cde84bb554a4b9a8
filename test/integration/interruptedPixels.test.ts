/**
 * An image that stops the process must not stop it on every restart (issue 22): the state a process
 * leaves when it dies while reading an instance's pixels (its job running, the instance marked in
 * flight) is made here through the store, as a SIGKILL at that moment leaves it. At the next run
 * the instance is quarantined with a reason and not read again; the rest of its study is carried;
 * an operator's release reads it again.
 */
import { releaseQuarantine } from '../../src/pipeline/admin';
import { openDatabase } from '../../src/store/db';
import { INTERRUPTED_REASON, markPixelsInFlight } from '../../src/store/inFlight';
import { listQuarantine } from '../../src/store/instances';
import { claimJob, enqueueJob } from '../../src/store/jobs';
import { burnedInImage } from '../helpers/burnedIn';
import { TestOrthanc, getJson } from '../helpers/orthanc';
import { runBridgeOnce } from '../helpers/carry';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

jest.setTimeout(300_000);

const clinical = new TestOrthanc('clinical');
const research = new TestOrthanc('research');
beforeAll(async () => {
  await Promise.all([clinical.start(), research.start()]);
});
afterAll(async () => {
  await Promise.all([clinical.destroy(), research.destroy()]);
});

function runOnce(dataDir: string): Promise<void> {
  return runBridgeOnce(clinical, research, dataDir, { poll: false });
}

describe('an instance whose pixels were being read when the process died', () => {
  it('is quarantined at the next run and not read again; the study goes on; a release reads it again', async () => {
    const first = await burnedInImage('mono8', 71, true);
    const second = await burnedInImage('rgb', 72, false);
    const a = await clinical.upload(first.bytes);
    const b = await clinical.upload(second.bytes);
    await clinical.waitStable([a.ParentStudy]);

    // What a SIGKILL while reading `a`'s pixels leaves: the job running, `a` in flight.
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-inflight-'));
    const db = openDatabase(dataDir);
    await enqueueJob(db, a.ParentStudy, 'cli');
    const job = (await claimJob(db, { owner: 'the-process-that-died', leaseMs: 60_000 }))!;
    await markPixelsInFlight(db, {
      sourceId: a.ID,
      destination: 'research',
      studyId: a.ParentStudy,
      jobId: job.id,
    });
    await db.close();

    await runOnce(dataDir);
    let check = openDatabase(dataDir);
    const held = await listQuarantine(check, { limit: 10 });
    await check.close();
    expect(held.map((q) => [q.sourceId, q.check, q.reason])).toEqual([
      [a.ID, 'interrupted', INTERRUPTED_REASON],
    ]);
    // The rest of the study went on.
    expect(await getJson<string[]>(`${research.url}/instances`)).toHaveLength(1);

    // Another run does not read it again.
    await enqueueJobAt(dataDir, a.ParentStudy);
    await runOnce(dataDir);
    check = openDatabase(dataDir);
    expect((await listQuarantine(check, { limit: 10 })).map((q) => q.check)).toEqual(['interrupted']);
    // Released by an operator: read again, and carried.
    expect((await releaseQuarantine(check, held[0]!.id, 'test')).released).toBe(true);
    await check.close();
    await runOnce(dataDir);
    check = openDatabase(dataDir);
    expect(await listQuarantine(check, { limit: 10 })).toEqual([]);
    await check.close();
    expect(await getJson<string[]>(`${research.url}/instances`)).toHaveLength(2);
    expect(b.ParentStudy).toBe(a.ParentStudy);
  });
});

async function enqueueJobAt(dataDir: string, studyId: string): Promise<void> {
  const db = openDatabase(dataDir);
  await enqueueJob(db, studyId, 'cli');
  await db.close();
}
