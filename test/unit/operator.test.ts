import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addressKey, FailureThrottle, presentedToken, roleOf, sameSecret } from '../../src/api/auth';
import type { RouteConfig } from '../../src/config';
import { ageFromDates, chooseRoute, parseAge, type StudyFacts } from '../../src/pipeline/routing';
import { retrySweep, writeDailyReport } from '../../src/schedule';
import { silentLogger } from '../../src/log';
import { insertAudit } from '../../src/store/audit';
import { openDatabase } from '../../src/store/db';
import { claimJob, enqueueJob, finishJob, listJobs } from '../../src/store/jobs';

const facts = (f: Partial<StudyFacts> = {}): StudyFacts => ({
  modalities: ['CT'],
  studyDescription: 'CT THORAX',
  sourceAets: ['CTROOM7'],
  patientAgeYears: 54,
  explorerRequested: false,
  ...f,
});
const route = (name: string, match: RouteConfig['match']): RouteConfig => ({
  name,
  match,
  profile: 'default',
  destinations: ['research'],
});

describe('routing rules', () => {
  const routes = [
    route('mammo-screening', { modalities: ['MG'], minPatientAgeYears: 40, maxPatientAgeYears: 75 }),
    route('thorax-from-ct7', { studyDescription: 'thorax', sourceAets: ['CTROOM7'] }),
    route('asked-for', { explorerRequested: true }),
  ];

  it('takes the first rule whose every criterion holds', () => {
    expect(chooseRoute(routes, facts())?.name).toBe('thorax-from-ct7');
    expect(chooseRoute(routes, facts({ modalities: ['MG', 'SR'] }))?.name).toBe('mammo-screening');
    expect(chooseRoute(routes, facts({ sourceAets: ['OTHER'], explorerRequested: true }))?.name).toBe(
      'asked-for',
    );
  });

  it('matches no rule when a criterion fails, an age is unknown or out of range', () => {
    expect(chooseRoute(routes, facts({ sourceAets: ['OTHER'] }))).toBeUndefined();
    expect(
      chooseRoute(routes, facts({ modalities: ['MG'], patientAgeYears: 30, studyDescription: 'x' })),
    ).toBeUndefined();
    expect(
      chooseRoute(routes, facts({ modalities: ['MG'], patientAgeYears: null, studyDescription: 'x' })),
    ).toBeUndefined();
  });

  it('reads DICOM ages and derives an age from dates', () => {
    expect(parseAge('054Y')).toBe(54);
    expect(parseAge('006M')).toBe(0.5);
    expect(parseAge('54')).toBeNull();
    expect(ageFromDates('19700615', '20240614')).toBe(53);
    expect(ageFromDates('19700615', '20240615')).toBe(54);
    expect(ageFromDates('', '20240615')).toBeNull();
  });
});

describe('API credentials', () => {
  const creds = { operatorToken: 'operator-token-0123456789', adminToken: 'admin-token-0123456789ab' };

  it('reads bearer tokens and basic-auth passwords', () => {
    expect(presentedToken('Bearer abc')).toBe('abc');
    expect(presentedToken(`Basic ${Buffer.from('anyone:s3cret:with:colons').toString('base64')}`)).toBe(
      's3cret:with:colons',
    );
    expect(presentedToken('Digest x')).toBeUndefined();
    expect(presentedToken(undefined)).toBeUndefined();
  });

  it('grants the admin role to the admin token only', () => {
    expect(roleOf(creds.adminToken, creds)).toBe('admin');
    expect(roleOf(creds.operatorToken, creds)).toBe('operator');
    expect(roleOf('operator-token-012345678', creds)).toBeUndefined();
    expect(roleOf(undefined, creds)).toBeUndefined();
    expect(sameSecret('a', 'a') && !sameSecret('a', 'ab')).toBe(true);
  });

  it('makes an address wait longer after each failure, and forgets after a quiet minute', () => {
    const t = new FailureThrottle(100, 1000);
    expect(t.waitFor('1.2.3.4', 0)).toBe(0);
    t.record('1.2.3.4', 0);
    expect(t.waitFor('1.2.3.4', 10)).toBe(90);
    expect(t.waitFor('1.2.3.4', 100)).toBe(0);
    t.record('1.2.3.4', 200);
    t.record('1.2.3.4', 300);
    expect(t.waitFor('1.2.3.4', 300)).toBe(400);
    for (let i = 0; i < 10; i++) t.record('1.2.3.4', 1000);
    expect(t.waitFor('1.2.3.4', 1000)).toBe(1000);
    expect(t.waitFor('5.6.7.8', 1000)).toBe(0);
    expect(t.waitFor('1.2.3.4', 70_000)).toBe(0);
  });

  it('answers every credential 429 once the global failure budget of the minute is spent', () => {
    const t = new FailureThrottle(100, 1000, 50);
    for (let i = 0; i < 50; i++) t.record(`10.0.${i >> 8}.${i & 255}`, 1000);
    expect(t.waitFor('192.0.2.1', 1001)).toBe(59_999);
    expect(t.waitFor('192.0.2.1', 61_000)).toBe(0);
  });

  it('keeps penalising after a flood of failures from many addresses (the map is bounded, not cleared)', () => {
    const t = new FailureThrottle(100, 5000, 1_000_000, 100);
    for (let i = 0; i < 5; i++) t.record('203.0.113.7', 0);
    for (let i = 0; i < 10_002; i++) t.record(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 1);
    expect(t.waitFor('203.0.113.7', 2)).toBe(0); // evicted only because the budget here is unlimited...
    const g = new FailureThrottle(100, 5000, 300, 100);
    for (let i = 0; i < 5; i++) g.record('203.0.113.7', 0);
    for (let i = 0; i < 10_002; i++) g.record(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 1);
    expect(g.waitFor('203.0.113.7', 2)).toBeGreaterThan(0); // ...with the default budget the flood is stopped
  });

  it('groups IPv6 addresses by /64 and IPv4-mapped addresses as IPv4', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::5')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(addressKey('127.0.0.1')).toBe('127.0.0.1');
  });
});

describe('schedules', () => {
  it('the retry sweep queues studies whose latest job failed, once', () => {
    const db = openDatabase(':memory:');
    enqueueJob(db, 'A', 'change');
    enqueueJob(db, 'B', 'change');
    finishJob(db, claimJob(db)!.id, { state: 'failed', reason: 'research down' });
    finishJob(db, claimJob(db)!.id, { state: 'done' });
    expect(retrySweep(db, silentLogger())).toBe(1);
    expect(retrySweep(db, silentLogger())).toBe(0); // already queued
    expect(listJobs(db, { state: 'queued' }).map((j) => [j.studyId, j.trigger])).toEqual([['A', 'retry']]);
  });

  it('the daily report holds the records finished that UTC day', () => {
    const db = openDatabase(':memory:');
    const record = (finishedAt: string, sourceStudyId: string) =>
      insertAudit(db, {
        jobId: 1,
        destination: 'research',
        route: 'default',
        sourceStudyId,
        researchStudyId: 'r',
        pseudonym: 'RBX',
        state: 'done',
        trigger: 'change',
        mode: 'normal',
        instancesTotal: 1,
        instancesPushed: 1,
        instancesAlready: 0,
        instancesUnchanged: 0,
        instancesQuarantined: 0,
        checks: {},
        durations: {},
        profile: 'default',
        keyVersion: 'k',
        startedAt: finishedAt,
        finishedAt,
      });
    record('2026-11-26T23:59:59.000Z', 'before');
    record('2026-11-27T10:00:00.000Z', 'inside');
    record('2026-11-28T00:00:00.000Z', 'after');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'daily-'));
    const file = writeDailyReport(db, dir, new Date('2026-11-27T15:00:00Z'));
    expect(file).toBe(path.join(dir, 'reports', 'daily', '2026-11-27.csv'));
    const lines = readFileSync(file, 'utf8').trim().split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^inside,/);
  });
});
