import { fileMetaValue } from '../dicom/elements';
import { TAG, tagNumber } from '../dicom/tags';
import { PermanentError } from '../errors';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  closeSync,
  fchmodSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { isRunning } from './spool';

/**
 * Makes one file-name field safe: letters, digits, dot, dash and underscore only, at most 64
 * characters, never "." or "..". Values come from the de-identified output already; this also
 * keeps any value from escaping the folder or carrying spaces, slashes or accents into a path.
 */
export function sanitiseField(value: string | undefined): string {
  const cleaned = (value ?? '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents go, their letters stay
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+|_+$/g, '')
    .slice(0, 64);
  return cleaned === '' ? 'NA' : cleaned;
}

/** The file's path inside `dir` for a pattern such as "{pseudonym}/{StudyDate}/{Modality}_{InstanceNumber}.dcm". */
export function sinkPath(
  dir: string,
  pattern: string,
  fields: Readonly<Record<string, string | undefined>>,
): string {
  const relative = pattern.replace(/\{([^}]+)\}/g, (_m, name: string) => sanitiseField(fields[name]));
  const root = path.resolve(dir);
  const full = path.resolve(root, relative);
  if (!full.startsWith(root + path.sep))
    throw new PermanentError('SINK_PATH', 'folder sink: the file name pattern leads outside the folder');
  return full;
}

/**
 * Writes a de-identified file (in parts: header, pixel data) to the folder sink. Two instances
 * whose fields give the same name (no InstanceNumber, say) are told apart by a short hash of the
 * SOP Instance UID; rewriting the same instance replaces its file atomically.
 */
export function writeToSink(
  dir: string,
  pattern: string,
  fields: Readonly<Record<string, string | undefined>>,
  parts: Buffer | readonly Buffer[],
  fileMode = 0o600,
): string {
  let file = sinkPath(dir, pattern, fields);
  let existingSop: string | undefined | null; // null: no file there
  try {
    const fd = openSync(file, 'r');
    try {
      const head = Buffer.alloc(4096);
      existingSop = readSop(head.subarray(0, readSync(fd, head, 0, head.length, 0)));
    } finally {
      closeSync(fd);
    }
  } catch {
    existingSop = null;
  }
  if (existingSop !== null && existingSop !== fields.SOPInstanceUID) {
    const own = createHash('sha256')
      .update(fields.SOPInstanceUID ?? '')
      .digest('hex')
      .slice(0, 8);
    file = file.replace(/\.dcm$/, `_${own}.dcm`);
  }
  const first = mkdirSync(path.dirname(file), { recursive: true });
  // Folders the sink creates get the file mode's search bits (0640 -> 0750), whatever the umask.
  if (first) {
    const dirMode = fileMode | ((fileMode & 0o444) >> 2);
    for (let d = path.dirname(file); d.length >= first.length; d = path.dirname(d)) chmodSync(d, dirMode);
  }
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', fileMode);
  try {
    fchmodSync(fd, fileMode); // the umask would otherwise narrow it
    for (const part of Buffer.isBuffer(parts) ? [parts] : parts) writeSync(fd, part);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  removeStaleTemporaries(file);
  return file;
}

/** Folders this process has swept of stale temporary files (once each: a sweep reads the folder). */
const swept = new Set<string>();

/**
 * Temporary files left in the file's folder by a process that died mid-write
 * (`<name>.<pid>.tmp`, the pid no longer running here): swept once per folder and process, at its
 * first write there; the writes they began are done again by the replay.
 */
function removeStaleTemporaries(file: string): void {
  const dir = path.dirname(file);
  if (swept.has(dir)) return;
  swept.add(dir);
  for (const name of readdirSync(dir)) {
    const pid = /\.(\d+)\.tmp$/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || isRunning(Number(pid))) continue;
    rmSync(path.join(dir, name), { force: true });
  }
}

/** The SOP Instance UID in a file we wrote (ASCII in group 0002), to tell "same instance" from "name clash". */
function readSop(bytes: Buffer): string | undefined {
  const value = fileMetaValue(bytes, tagNumber(TAG.MediaStorageSOPInstanceUID));
  return value === undefined ? undefined : Buffer.from(value).toString('latin1').replace(/\0/g, '').trim();
}

/** The folder itself, or its nearest parent that exists (what a first write would create it in). */
export function nearestExisting(dir: string): string {
  let at = dir;
  while (!existsSync(at) && path.dirname(at) !== at) at = path.dirname(at);
  return at;
}
