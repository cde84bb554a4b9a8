import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sanitiseField, sinkPath, writeToSink } from '../../src/destinations/folderFiles';

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

describe('folder writes after a crash', () => {
  it('sweeps the temporary files a process that died mid-write left, never those of a running one', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sink-stale-'));
    const dead = spawnSync('true').pid!; // exited: its pid runs nothing now
    writeFileSync(path.join(dir, `CT.dcm.${dead}.tmp`), 'half a file');
    writeFileSync(path.join(dir, `MR.dcm.${process.ppid}.tmp`), 'a write in progress');
    writeToSink(dir, '{Modality}.dcm', { Modality: 'CT', SOPInstanceUID: '2.25.1' }, Buffer.from('a'));
    expect(readdirSync(dir).sort()).toEqual(['CT.dcm', `MR.dcm.${process.ppid}.tmp`]);
  });
});
