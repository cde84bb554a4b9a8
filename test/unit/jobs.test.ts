import { openDatabase } from '../../src/store/db';
import {
  claimJob,
  countJobsByState,
  enqueueJob,
  finishJob,
  getJob,
  requeueInterrupted,
  retryJobLater,
} from '../../src/store/jobs';

describe('job store', () => {
  it('claims the oldest due job and never two of one study at once', () => {
    const db = openDatabase(':memory:');
    enqueueJob(db, 'A', 'change');
    enqueueJob(db, 'B', 'change');
    const a = claimJob(db)!;
    expect(a.studyId).toBe('A');
    expect(enqueueJob(db, 'A', 'api')).toBe(true); // more instances arrived while A runs
    expect(claimJob(db)!.studyId).toBe('B');
    expect(claimJob(db)).toBeUndefined(); // the queued A waits for the running A
    finishJob(db, a.id, { state: 'done' });
    expect(claimJob(db)!.studyId).toBe('A');
  });

  it('puts a job back with a delay after a transient fault', () => {
    const db = openDatabase(':memory:');
    enqueueJob(db, 'A', 'change');
    const j = claimJob(db)!;
    retryJobLater(db, j.id, Date.now() + 60_000, 'research down');
    expect(claimJob(db)).toBeUndefined();
    expect(claimJob(db, Date.now() + 61_000)?.attempts).toBe(2);
  });

  it('resumes jobs interrupted by a crash', () => {
    const db = openDatabase(':memory:');
    enqueueJob(db, 'A', 'change');
    const j = claimJob(db)!;
    expect(requeueInterrupted(db)).toBe(1);
    expect(getJob(db, j.id)?.state).toBe('queued');
    expect(countJobsByState(db).queued).toBe(1);
  });

  it('closes an interrupted job when a newer one for the study is queued', () => {
    const db = openDatabase(':memory:');
    enqueueJob(db, 'A', 'change');
    const j = claimJob(db)!;
    enqueueJob(db, 'A', 'change');
    requeueInterrupted(db);
    expect(getJob(db, j.id)?.state).toBe('skipped');
    expect(countJobsByState(db).queued).toBe(1);
  });
});
