/**
 * Real-world DICOM files that nobody on this project wrote, from Debian's packages: pydicom's test
 * corpus and nibabel's DICOM test data. They are described by pydicom (an independent reader), so
 * the test's idea of "an ordinary image" does not come from the code under test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { RISKY_MODALITIES, RISKY_SOP_CLASSES } from '../../src/pixels/policy';

const PYTHON = '/usr/bin/python3';
export const CORPORA: Readonly<Record<string, string>> = {
  pydicom: '/usr/lib/python3/dist-packages/pydicom/data/test_files',
  nibabel: '/usr/lib/python3/dist-packages/nibabel',
};
const NOT_DICOM = /\.(txt|json|dump|py|pyc|bin|nii|mnc|mgz|img|hdr|png|csv|h5|npy|par|rec|xml|PAR|REC)$/i;

export interface RealFile {
  readonly corpus: string;
  /** Path inside the corpus, e.g. "CT_small.dcm": a file name from a public test set, not patient data. */
  readonly name: string;
  /** The file to upload (a gzipped file is unpacked to a temporary copy). */
  readonly path: string;
  readonly readable: boolean;
  readonly sopClass: string;
  readonly modality: string;
  readonly burnedIn: string;
  readonly syntax: string;
  readonly pixels: boolean;
  readonly sopInstance: string;
  /** Values that identify someone (names, IDs, birth date, institution, original UIDs...): searched for on research, never printed. */
  readonly identity: readonly string[];
  /** Manufacturer, model and software versions as the original holds them: kept by every profile. */
  readonly vendor: readonly string[];
}

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir).sort()) {
    const p = path.join(dir, entry);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (st.isFile() && st.size > 0 && !NOT_DICOM.test(entry)) out.push(p);
  }
}

/** Every candidate file of the corpora that are installed; gzipped DICOM files unpacked. */
function candidates(): Array<{ corpus: string; name: string; path: string }> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bridge-realworld-'));
  const out: Array<{ corpus: string; name: string; path: string }> = [];
  for (const [corpus, root] of Object.entries(CORPORA)) {
    if (!existsSync(root)) continue;
    const files: string[] = [];
    walk(root, files);
    for (const file of files) {
      const name = path.relative(root, file);
      if (corpus === 'nibabel' && !/\.dcm(\.gz)?$|\/dicom\/|nicom\/tests\/data\/\d+\.dcm/.test(file))
        continue;
      if (file.endsWith('.gz')) {
        let bytes: Buffer;
        try {
          bytes = gunzipSync(readFileSync(file));
        } catch {
          continue;
        }
        const unpacked = path.join(tmp, `${out.length}-${path.basename(file, '.gz')}`);
        writeFileSync(unpacked, bytes);
        out.push({ corpus, name, path: unpacked });
      } else out.push({ corpus, name, path: file });
    }
  }
  return out;
}

/** Describes every candidate with pydicom; files pydicom cannot read as DICOM are left out. */
export function realWorldFiles(): RealFile[] {
  const list = candidates();
  const r = spawnSync(PYTHON, [path.join(__dirname, 'describe_dicom.py'), ...list.map((c) => c.path)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`describe_dicom.py failed (exit ${r.status})`);
  const described = r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Omit<RealFile, 'corpus' | 'name'>);
  const byPath = new Map(described.map((d) => [d.path, d]));
  return list
    .map((c) => ({ ...c, ...byPath.get(c.path)! }))
    .filter((f) => f.readable)
    .map((f) => ({ ...f, identity: f.identity ?? [], vendor: f.vendor ?? [] }));
}

/**
 * An ordinary image: pixel data, and nothing that makes the default pixel policy hold it back
 * (secondary capture, ultrasound, documents, photographs, burned-in annotation).
 */
export function isOrdinaryImage(f: RealFile): boolean {
  if (!f.pixels) return false;
  if (f.burnedIn.toUpperCase() === 'YES') return false;
  if (RISKY_SOP_CLASSES[f.sopClass]) return false;
  const modality = f.modality.toUpperCase();
  return !(RISKY_MODALITIES[modality] && f.burnedIn.toUpperCase() !== 'NO');
}
