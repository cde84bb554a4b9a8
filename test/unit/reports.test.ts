import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sanitiseField, sinkPath, writeToSink } from '../../src/pipeline/folderSink';
import { csvLine, metadataCsv } from '../../src/reports/format';
import { checkStudy, type StudyCheckRecord } from '../../src/verify/study';

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
