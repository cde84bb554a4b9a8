import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nock from 'nock';
import { silentLogger } from '../../src/log';
import { ChangeFeed } from '../../src/pipeline/feed';
import { OrthancClient, type Change } from '../../src/orthanc/client';
import { openDatabase, type Db } from '../../src/store/db';
import { readFeedState } from '../../src/store/feed';
import { listJobs } from '../../src/store/jobs';

const URL = 'http://127.0.0.1:18999';
const study = (n: number): string => `${String(n).padStart(8, '0')}-00000000-00000000-00000000-00000000`;
const stable = (seq: number, n: number): Change => ({
  ChangeType: 'StableStudy',
  ResourceType: 'Study',
  ID: study(n),
  Seq: seq,
});
const other = (seq: number): Change => ({
  ChangeType: 'NewInstance',
  ResourceType: 'Instance',
  ID: `i${seq}`,
  Seq: seq,
});

function feedFor(db: Db, batchSize = 2): ChangeFeed {
  const client = new OrthancClient({ url: URL, timeoutMs: 2000, label: 'source' });
  return new ChangeFeed(
    db,
    client,
    { batchSize, pollIntervalMs: 1000, retryBaseMs: 10, retryMaxMs: 20 },
    silentLogger(),
  );
}

/** Serves a change log the way Orthanc 1.10 does: since/limit paging, Done and Last, `?last`. */
function serveLog(log: Change[]): void {
  nock(URL)
    .persist()
    .get('/changes')
    .query(true)
    .reply((uri) => {
      const q = new URLSearchParams(uri.split('?')[1]);
      if (q.has('last')) {
        const last = log[log.length - 1];
        return [200, { Changes: last ? [last] : [], Done: true, Last: last?.Seq ?? 0 }];
      }
      const since = Number(q.get('since') ?? 0);
      const limit = Number(q.get('limit') ?? 100);
      const after = log.filter((c) => c.Seq > since);
      const page = after.slice(0, limit);
      return [200, { Changes: page, Done: after.length <= limit, Last: page[page.length - 1]?.Seq ?? since }];
    });
}

afterEach(() => nock.cleanAll());
beforeAll(() => nock.disableNetConnect());
// nock intercepts every request of the process while active: restored for the test files after this one.
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('ChangeFeed', () => {
  it('reads every page until Done and queues one job per stable study', async () => {
    const db = openDatabase(':memory:');
    serveLog([other(1), stable(2, 1), other(3), stable(4, 2), other(5), stable(7, 3)]);
    const r = await feedFor(db).pollOnce();
    expect(r).toEqual({ changesRead: 6, jobsCreated: 3, reset: false });
    expect((await listJobs(db)).map((j) => j.studyId).sort()).toEqual([study(1), study(2), study(3)]);
    expect((await readFeedState(db)).cursor).toBe(7);
  });

  it('does not queue a study twice while it waits', async () => {
    const db = openDatabase(':memory:');
    serveLog([stable(1, 1), stable(2, 1)]);
    await feedFor(db).pollOnce();
    expect(await listJobs(db)).toHaveLength(1);
  });

  it('keeps its cursor across restarts, so nothing is read twice', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-feed-'));
    const log = [stable(1, 1), other(2)];
    serveLog(log);
    let db = openDatabase(dir);
    await feedFor(db).pollOnce();
    await db.close();
    nock.cleanAll();
    log.push(stable(3, 2));
    serveLog(log);
    db = openDatabase(dir);
    const r = await feedFor(db).pollOnce();
    expect(r.changesRead).toBe(1);
    expect((await listJobs(db)).map((j) => j.studyId).sort()).toEqual([study(1), study(2)]);
    await db.close();
  });

  it('detects a change log that went behind the cursor and reads it again from the start', async () => {
    const db = openDatabase(':memory:');
    serveLog([stable(1, 1), other(2), other(3), other(4)]);
    await feedFor(db).pollOnce();
    nock.cleanAll();
    serveLog([stable(1, 5), stable(2, 6)]); // a new Orthanc index: seq restarted
    const r = await feedFor(db).pollOnce();
    expect(r.reset).toBe(true);
    expect(await readFeedState(db)).toMatchObject({ cursor: 2, resets: 1 });
    expect((await listJobs(db)).map((j) => j.studyId).sort()).toEqual([study(1), study(5), study(6)]);
  });

  it('detects a rebuilt log that has already grown past the cursor', async () => {
    const db = openDatabase(':memory:');
    serveLog([other(1), stable(2, 1)]);
    await feedFor(db).pollOnce();
    nock.cleanAll();
    serveLog([other(1), stable(2, 8), stable(3, 9), other(4)]); // same length and more, other changes
    const r = await feedFor(db).pollOnce();
    expect(r.reset).toBe(true);
    expect((await listJobs(db)).map((j) => j.studyId).sort()).toEqual([study(1), study(8), study(9)]);
  });

  it('is not fooled by a gap where the anchor change was deleted with its resource', async () => {
    const db = openDatabase(':memory:');
    serveLog([stable(1, 1), stable(2, 2)]);
    await feedFor(db).pollOnce();
    nock.cleanAll();
    serveLog([stable(1, 1), stable(3, 3)]); // change 2 gone: study 2 was deleted
    const r = await feedFor(db).pollOnce();
    expect(r.reset).toBe(false);
    expect((await readFeedState(db)).cursor).toBe(3);
  });

  it('leaves the cursor where it was when Orthanc fails mid-read', async () => {
    const db = openDatabase(':memory:');
    nock(URL).get('/changes').query({ last: '' }).reply(200, { Changes: [], Done: true, Last: 4 });
    nock(URL)
      .get('/changes')
      .query({ since: '0', limit: '2' })
      .reply(200, { Changes: [stable(1, 1), stable(2, 2)], Done: false, Last: 2 });
    nock(URL).get('/changes').query({ since: '2', limit: '2' }).reply(500, 'boom');
    await expect(feedFor(db).pollOnce()).rejects.toMatchObject({ code: 'ORTHANC_HTTP_500', retryable: true });
    // the first page was committed with its jobs; the failed one was not
    expect((await readFeedState(db)).cursor).toBe(2);
    expect(await listJobs(db)).toHaveLength(2);
  });

  it('treats a body that is not JSON as a transient fault', async () => {
    const db = openDatabase(':memory:');
    nock(URL)
      .get('/changes')
      .query({ last: '' })
      .reply(200, 'not json', { 'Content-Type': 'application/json' });
    await expect(feedFor(db).pollOnce()).rejects.toMatchObject({ retryable: true });
    expect((await readFeedState(db)).cursor).toBe(0);
  });
});
