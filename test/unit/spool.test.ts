import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSpool, spoolFolder } from '../../src/destinations/spool';

describe('the spool folder (files a destination hands to storescu)', () => {
  it('is made in the data folder, private to the bridge, and each send gets a folder named by its process', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-spool-'));
    const spool = openSpool(dataDir);
    expect(spool).toBe(path.join(dataDir, 'spool'));
    expect(statSync(spool).mode & 0o777).toBe(0o700);
    const one = spoolFolder(spool, 'dimse');
    expect(path.basename(one)).toMatch(new RegExp(`^dimse-${process.pid}-`));
    expect(statSync(one).mode & 0o777).toBe(0o700);
  });

  it('removes on open what a process no longer running left, and keeps what running ones hold', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-spool-'));
    const spool = path.join(dataDir, 'spool');
    mkdirSync(spool);
    // A process that has ended: its id is no one's now.
    const ended = spawnSync(process.execPath, ['-e', '0']).pid!;
    const left = path.join(spool, `dimse-${ended}-abc123`);
    mkdirSync(left);
    writeFileSync(path.join(left, '0.dcm'), 'a copy being sent');
    const ours = path.join(spool, `dimse-${process.pid}-def456`);
    mkdirSync(ours);
    const parent = path.join(spool, `dimse-${process.ppid}-ghi789`);
    mkdirSync(parent);
    const other = path.join(spool, 'notes');
    mkdirSync(other);
    openSpool(dataDir);
    expect(existsSync(left)).toBe(false);
    expect([ours, parent, other].map(existsSync)).toEqual([true, true, true]);
  });

  it('names the folder and the cause when it cannot be made', () => {
    if (process.getuid?.() === 0) {
      // root may write anywhere: a file where the folder should be stops it instead.
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-spool-'));
      writeFileSync(path.join(dataDir, 'spool'), '');
      expect(() => openSpool(dataDir)).toThrow(
        /spool folder \(.*spool\), where a DIMSE destination .* cannot be made: EEXIST/,
      );
      return;
    }
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-spool-'));
    chmodSync(dataDir, 0o500);
    expect(() => openSpool(dataDir)).toThrow(
      /spool folder \(.*spool\), where a DIMSE destination .* cannot be made: EACCES/,
    );
  });
});
