/**
 * dicom3tools' `dciodvfy` (Debian `dicom3tools`), the validator MIDI-B runs on every output: the
 * errors it reports for a file, and those a research copy has that its original had not (issue 28).
 * Messages keep the attribute's path and module and lose every value, so they can be printed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const DCIODVFY = '/usr/bin/dciodvfy';

/**
 * The error lines dciodvfy prints for a file, each with its values taken out: the path
 * (`</Keyword(gggg,eeee)[item]/...>`) and `Module=<...>` stay, any other `<...>` becomes `<>`.
 */
export function validatorErrors(file: string | Buffer): string[] {
  let dir: string | undefined;
  let target = typeof file === 'string' ? file : '';
  if (typeof file !== 'string') {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-dciodvfy-'));
    target = path.join(dir, 'copy.dcm');
    writeFileSync(target, file);
  }
  try {
    const r = spawnSync(DCIODVFY, ['-new', target], {
      encoding: 'utf8',
      timeout: 60_000,
      maxBuffer: 16 << 20,
    });
    if (r.error) throw r.error;
    return `${r.stderr}\n${r.stdout}`
      .split('\n')
      .filter((l) => l.startsWith('Error'))
      .map((l) =>
        l.replace(/(Module=<[^>]*>|^Error - <[^>]*>)|<[^>]*>/g, (_m, keep?: string) => keep ?? '<>'),
      );
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The errors of an original. dciodvfy cannot read a deflated dataset (PS3.5 A.5) and stops at its
 * first element; the bridge carries such a file inflated, as explicit VR little endian, so the
 * original is compared in that form, rewritten by pydicom (Debian's python3-pydicom, a reader
 * independent of the bridge): the encoding changes, not the elements.
 */
export function originalErrors(file: string | Buffer): string[] {
  const errors = validatorErrors(file);
  if (!errors.some((e) => /read failed/.test(e))) return errors;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-dciodvfy-'));
  try {
    const source = path.join(dir, 'original.dcm');
    const inflated = path.join(dir, 'inflated.dcm');
    writeFileSync(source, typeof file === 'string' ? readFileSync(file) : file);
    const r = spawnSync('/usr/bin/python3', ['-c', INFLATE, source, inflated], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status !== 0) return errors;
    return validatorErrors(inflated);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const INFLATE = [
  'import sys, pydicom',
  'from pydicom.uid import ExplicitVRLittleEndian',
  'ds = pydicom.dcmread(sys.argv[1])',
  'ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian',
  'ds.is_implicit_VR = False',
  'ds.is_little_endian = True',
  'ds.save_as(sys.argv[2], write_like_original=False)',
].join('\n');

/** The errors of `copy` that `original` had not (counted, so a second copy of one error counts). */
export function introducedErrors(original: readonly string[], copy: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const e of original) left.set(e, (left.get(e) ?? 0) + 1);
  const added: string[] = [];
  for (const e of copy) {
    const n = left.get(e) ?? 0;
    if (n > 0) left.set(e, n - 1);
    else added.push(e);
  }
  return added;
}
