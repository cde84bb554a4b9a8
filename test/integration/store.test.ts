/**
 * The state store's contract, run on the embedded SQLite and on a real PostgreSQL 15 started for
 * the test: jobs and claims, leases and takeover, fenced writes, the feed, instances, quarantine,
 * audit, re-identification records and replicas.
 */
import { insertAudit, listAudit, type AuditRecord } from '../../src/store/audit';
import { commitFeedBatch, readFeedState } from '../../src/store/feed';
import {
  countQuarantine,
  instancesOfStudy,
  listQuarantine,
  openQuarantineReasons,
  recordPushed,
  recordQuarantined,
} from '../../src/store/instances';
import {
  claimHeld,
  claimJob,
  countJobsByState,
  enqueueJob,
  finishJob,
  getJob,
  listJobs,
  reapExpiredClaims,
  renewClaims,
  requeueInterrupted,
  retryJobLater,
  runningByOwner,
} from '../../src/store/jobs';
import { listMetadata } from '../../src/store/metadata';
import { auditAdmin, hasSealed, listAdminAudit, saveSealed, sealedFor } from '../../src/store/reid';
import { listReplicas, touchReplica } from '../../src/store/replicas';
import { eachStore } from '../helpers/stores';
import { recordFeedLag } from '../../src/store/feed';
import { plotsSince } from '../../src/store/plots';
import { TAG, formatTag } from '../../src/dicom/tags';

const A = { owner: 'replica-a', leaseMs: 30_000 };
const B = { owner: 'replica-b', leaseMs: 30_000 };

function audit(jobId: number, destination = 'research'): AuditRecord {
  return {
    jobId,
    destination,
    route: 'default',
    sourceStudyId: 'S',
    researchStudyId: 'R',
    pseudonym: 'P',
    state: 'done',
    trigger: 'change',
    mode: 'normal',
    instancesTotal: 2,
    instancesPushed: 2,
    instancesAlready: 0,
    instancesUnchanged: 0,
    instancesQuarantined: 0,
    checks: { gate: 2 },
    durations: { study: 5 },
    profile: 'default',
    keyVersion: 'k1',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
  };
}

eachStore((open) => {
  describe('jobs', () => {
    it('claims the oldest due job and never two of one study at once', async () => {
      const db = await open();
      await enqueueJob(db, 'A', 'change');
      await enqueueJob(db, 'B', 'change');
      const a = (await claimJob(db, A))!;
      expect(a.studyId).toBe('A');
      expect(a.owner).toBe('replica-a');
      expect(await enqueueJob(db, 'A', 'api')).toBe(true); // more instances arrived while A runs
      expect((await claimJob(db, B))!.studyId).toBe('B');
      expect(await claimJob(db, B)).toBeUndefined(); // the queued A waits for the running A
      expect(await finishJob(db, a, { state: 'done' })).toBe(true);
      expect((await claimJob(db, B))!.studyId).toBe('A');
    });

    it('queues one job per study however often it is asked', async () => {
      const db = await open();
      expect(await enqueueJob(db, 'A', 'change')).toBe(true);
      expect(await enqueueJob(db, 'A', 'api')).toBe(false);
      expect(await enqueueJob(db, 'A', 'reprocess', null, 'reprocess')).toBe(false);
      const jobs = await listJobs(db, { studyId: 'A' });
      expect(jobs).toHaveLength(1);
      expect(jobs[0]!.mode).toBe('reprocess');
    });

    it('puts a job back with a delay after a transient fault', async () => {
      const db = await open();
      await enqueueJob(db, 'A', 'change');
      const j = (await claimJob(db, A))!;
      expect(await retryJobLater(db, j, Date.now() + 60_000, 'research down')).toBe(true);
      expect(await claimJob(db, A)).toBeUndefined();
      expect((await claimJob(db, A, Date.now() + 61_000))?.attempts).toBe(2);
    });

    it('resumes jobs interrupted by a crash of the only replica', async () => {
      const db = await open();
      await enqueueJob(db, 'A', 'change');
      const j = (await claimJob(db, A))!;
      expect(await requeueInterrupted(db)).toBe(1);
      expect((await getJob(db, j.id))?.state).toBe('queued');
      expect((await countJobsByState(db)).queued).toBe(1);
    });

    it('requeues at start only the jobs an earlier run of the same replica left', async () => {
      const db = await open();
      await enqueueJob(db, 'A', 'change');
      await enqueueJob(db, 'B', 'change');
      const mine = (await claimJob(db, A))!;
      const theirs = (await claimJob(db, B))!;
      expect(await requeueInterrupted(db, 'replica-a')).toBe(1);
      expect((await getJob(db, mine.id))?.state).toBe('queued');
      expect((await getJob(db, theirs.id))?.state).toBe('running');
    });

    it('closes an interrupted job when a newer one for the study is queued', async () => {
      const db = await open();
      await enqueueJob(db, 'A', 'change');
      const j = (await claimJob(db, A))!;
      await enqueueJob(db, 'A', 'change');
      await requeueInterrupted(db);
      expect((await getJob(db, j.id))?.state).toBe('skipped');
      expect((await countJobsByState(db)).queued).toBe(1);
    });

    it('gives each of many concurrent claimers a different study, one claim per study', async () => {
      const db = await open();
      for (let i = 0; i < 12; i++) await enqueueJob(db, `S${i}`, 'change');
      const claims = await Promise.all(
        Array.from({ length: 16 }, (_, i) => claimJob(db, { owner: `r${i % 3}`, leaseMs: 30_000 })),
      );
      const got = claims.filter((c) => c !== undefined).map((c) => c!.studyId);
      expect(got).toHaveLength(12);
      expect(new Set(got).size).toBe(12);
      expect([...(await runningByOwner(db)).values()].reduce((a, b) => a + b, 0)).toBe(12);
    });
  });

  describe('leases and takeover', () => {
    it('takes over a job whose lease expired, and fences the first runner out', async () => {
      const db = await open();
      await enqueueJob(db, 'A', 'change');
      const t0 = Date.now();
      const first = (await claimJob(db, { owner: 'dead', leaseMs: 1_000 }, t0))!;
      expect(await reapExpiredClaims(db, 'replica-b', t0 + 500)).toEqual([]); // still within its lease
      expect(await reapExpiredClaims(db, 'dead', t0 + 1_500)).toEqual([]); // never one's own
      const reaped = await reapExpiredClaims(db, 'replica-b', t0 + 1_500);
      expect(reaped).toEqual([{ jobId: first.id, studyId: 'A', owner: 'dead' }]);
      const second = (await claimJob(db, B, t0 + 1_500))!;
      expect(second.id).toBe(first.id);
      expect(second.attempts).toBe(first.attempts + 1);
      expect(second.owner).toBe('replica-b');
      // The first runner comes back: none of its end-of-job writes land.
      expect(await claimHeld(db, first)).toBe(false);
      expect(await finishJob(db, first, { state: 'done' })).toBe(false);
      expect(await retryJobLater(db, first, 0, 'late')).toBe(false);
      expect(await insertAudit(db, first, audit(first.id))).toBe(false);
      // The holder's do.
      expect(await insertAudit(db, second, audit(second.id))).toBe(true);
      expect(await finishJob(db, second, { state: 'done' })).toBe(true);
      expect((await getJob(db, first.id))?.state).toBe('done');
      expect(await listAudit(db)).toHaveLength(1);
    });

    it('renews the leases a replica holds and tells it which claims it lost', async () => {
      const db = await open();
      await enqueueJob(db, 'A', 'change');
      await enqueueJob(db, 'B', 'change');
      const t0 = Date.now();
      const a = (await claimJob(db, { owner: 'r1', leaseMs: 1_000 }, t0))!;
      const b = (await claimJob(db, { owner: 'r1', leaseMs: 1_000 }, t0))!;
      expect(await renewClaims(db, { owner: 'r1', leaseMs: 10_000 }, t0 + 900)).toHaveLength(2);
      expect(await reapExpiredClaims(db, 'r2', t0 + 5_000)).toEqual([]); // renewed: not taken over
      await finishJob(db, b, { state: 'done' });
      expect(await renewClaims(db, { owner: 'r1', leaseMs: 10_000 }, t0 + 5_000)).toEqual([
        { id: a.id, attempts: a.attempts },
      ]);
    });

    it('writes one final audit record per job and destination', async () => {
      const db = await open();
      await enqueueJob(db, 'A', 'change');
      const j = (await claimJob(db, A))!;
      expect(await insertAudit(db, j, audit(j.id))).toBe(true);
      expect(await insertAudit(db, j, { ...audit(j.id), instancesPushed: 0 })).toBe(true); // kept, not doubled
      expect(await insertAudit(db, j, audit(j.id, 'other'))).toBe(true);
      const records = await listAudit(db);
      expect(records.map((r) => r.destination).sort()).toEqual(['other', 'research']);
      expect(records.find((r) => r.destination === 'research')?.instancesPushed).toBe(2);
    });
  });

  describe('change feed', () => {
    it('queues the batch and moves the cursor together', async () => {
      const db = await open();
      const created = await commitFeedBatch(db, {
        studies: [
          { studyId: 'A', seq: 3 },
          { studyId: 'B', seq: 4 },
        ],
        cursor: 4,
        anchor: { seq: 4, change: 'StableStudy', resource: 'B' },
        orthancLast: 9,
      });
      expect(created).toBe(2);
      const s = await readFeedState(db);
      expect(s).toMatchObject({ cursor: 4, anchorSeq: 4, anchorChange: 'StableStudy', orthancLast: 9 });
      await commitFeedBatch(db, { studies: [], cursor: 5, anchor: null, orthancLast: 9 });
      expect(await readFeedState(db)).toMatchObject({ cursor: 5, anchorSeq: 4 }); // a null anchor keeps the last
    });
  });

  describe('instances, quarantine and metadata', () => {
    it('records pushes and quarantines per destination and counts reasons in the database', async () => {
      const db = await open();
      const base = { destination: 'research', studyId: 'S', jobId: 1, fingerprint: 'f' };
      await recordPushed(db, {
        ...base,
        sourceId: 'i1',
        researchId: 'r1',
        researchStudyId: 'RS',
        md5: 'm',
        pseudonym: 'P',
        metadata: { Modality: 'CT' },
      });
      for (const id of ['i2', 'i3'])
        await recordQuarantined(db, {
          ...base,
          sourceId: id,
          check: 'residual-phi',
          tag: formatTag(TAG.PatientName),
          reason: 'r',
        });
      const records = await instancesOfStudy(db, 'S', 'research');
      expect([...records.values()].map((r) => r.state).sort()).toEqual([
        'pushed',
        'quarantined',
        'quarantined',
      ]);
      expect(await countQuarantine(db)).toBe(2);
      expect(await openQuarantineReasons(db)).toEqual([{ check: 'residual-phi', reason: 'r', n: 2 }]);
      expect((await listQuarantine(db, { studyId: 'S' })).map((q) => q.sourceId).sort()).toEqual([
        'i2',
        'i3',
      ]);
      expect((await listMetadata(db, { sourceStudyId: 'S' }))[0]?.fields).toEqual({ Modality: 'CT' });
      // A quarantined instance pushed later leaves the quarantine.
      await recordPushed(db, {
        ...base,
        sourceId: 'i2',
        researchId: 'r2',
        researchStudyId: 'RS',
        md5: 'm2',
        pseudonym: 'P',
        metadata: {},
      });
      expect(await countQuarantine(db)).toBe(1);
    });
  });

  describe('re-identification and admin audit', () => {
    it('keeps one sealed record per pseudonym and key, and the admin actions in order', async () => {
      const db = await open();
      await saveSealed(db, 'P', { keyId: 'k', sealed: 'x' });
      await saveSealed(db, 'P', { keyId: 'k', sealed: 'y' });
      expect(await hasSealed(db, 'P', 'k')).toBe(true);
      expect(await sealedFor(db, 'P')).toEqual([{ keyId: 'k', sealed: 'x' }]);
      await auditAdmin(db, { action: 'a1', pseudonym: 'P', actor: 'me', outcome: 'ok' });
      await auditAdmin(db, { action: 'a2', pseudonym: 'P', actor: 'me', outcome: 'ok', target: 't' });
      expect((await listAdminAudit(db, { newestFirst: true })).map((r) => r.action)).toEqual(['a2', 'a1']);
    });
  });

  describe('replicas', () => {
    it('lists the replicas seen lately with their role', async () => {
      const db = await open();
      const startedAt = new Date().toISOString();
      await touchReplica(db, { id: 'r1', role: 'leader', api: 'http://127.0.0.1:1', startedAt });
      await touchReplica(db, { id: 'r2', role: 'worker', api: null, startedAt });
      await touchReplica(db, { id: 'r1', role: 'stopped', api: null, startedAt });
      const rows = await listReplicas(db, new Date(Date.now() - 60_000).toISOString());
      expect(Object.fromEntries(rows.map((r) => [r.id, r.role]))).toEqual({ r1: 'stopped', r2: 'worker' });
      expect(await listReplicas(db, new Date(Date.now() + 60_000).toISOString())).toEqual([]);
    });
  });

  describe('plots', () => {
    it("keeps the change feed's largest lag per hour with its polls, and drops hours older than 90 days", async () => {
      const db = await open();
      const at = (iso: string) => new Date(iso);
      await recordFeedLag(db, 3, at('2026-03-01T10:05:00.000Z'));
      await recordFeedLag(db, 40, at('2026-03-01T10:20:00.000Z'));
      await recordFeedLag(db, 7, at('2026-03-01T10:59:59.000Z'));
      await recordFeedLag(db, 0, at('2026-03-01T11:00:00.000Z'));
      const plots = await plotsSince(db, '2026-03-01T00:00:00.000Z');
      expect(plots.feedLagPerHour).toEqual([
        { hour: '2026-03-01T10', maxLag: 40, polls: 3 },
        { hour: '2026-03-01T11', maxLag: 0, polls: 1 },
      ]);
      // An hour before `since` is not plotted; one 91 days later drops both.
      expect((await plotsSince(db, '2026-03-01T11:00:00.000Z')).feedLagPerHour).toHaveLength(1);
      await recordFeedLag(db, 1, at('2026-05-31T12:00:00.000Z'));
      expect((await plotsSince(db, '2026-01-01T00:00:00.000Z')).feedLagPerHour).toEqual([
        { hour: '2026-05-31T12', maxLag: 1, polls: 1 },
      ]);
    });
  });
});
