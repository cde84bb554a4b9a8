/**
 * The generated corpus (every character set, transfer syntax, nested private sequences, odd VRs)
 * through real Orthanc servers and the bridge: every instance the clinical Orthanc accepts comes
 * out in the research Orthanc de-identified, in its own transfer syntax (a deflated dataset as explicit VR), with its pixel data byte
 * for byte, or is quarantined with a specific reason. With a re-identification key configured,
 * `bridge pseudonym` and `bridge reidentify` map between a patient and the pseudonym, audited.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BridgeApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { parseDicom } from '../../src/dicom/file';
import { deriveKeys, mapUid } from '../../src/deid/keys';
import { introducedErrors, originalErrors, validatorErrors } from '../helpers/dciodvfy';
import { generateReidKeyPair } from '../../src/deid/reid';
import { locatePixelData } from '../../src/dicom/scan';
import { corpus, TRANSFER_SYNTAXES } from '../fixtures/corpus';
import { openDatabase } from '../../src/store/db';
import { listQuarantine } from '../../src/store/instances';
import { listAdminAudit } from '../../src/store/reid';
import { TEST_SECRET } from '../helpers/samples';
import { TestOrthanc } from '../helpers/orthanc';
import { str } from '../../src/dicom/values';
import { TAG } from '../../src/dicom/tags';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
const clinical = new TestOrthanc('clinical');
const research = new TestOrthanc('research');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-corpus-'));
const keyDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-reid-'));
const files = corpus();
const accepted: Array<{ file: (typeof files)[number]; studyId: string }> = [];
const rejected: string[] = [];

function env(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    BRIDGE_SOURCE_URL: clinical.url,
    BRIDGE_RESEARCH_URL: research.url,
    BRIDGE_DATA_DIR: dataDir,
    BRIDGE_SECRET: TEST_SECRET,
    BRIDGE_REID_PUBLIC_KEY_FILE: path.join(keyDir, 'reid-public.pem'),
  };
}

function bridge(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: env(),
    encoding: 'utf8',
    timeout: 60_000,
    input,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  const pair = generateReidKeyPair();
  writeFileSync(path.join(keyDir, 'reid-public.pem'), pair.publicPem);
  writeFileSync(path.join(keyDir, 'reid-private.pem'), pair.privatePem, { mode: 0o600 });
  await Promise.all([clinical.start(), research.start()]);
  for (const file of files) {
    const r = await clinical.call('POST', '/instances', file.bytes);
    if (r.status === 200)
      accepted.push({
        file,
        studyId: (JSON.parse(r.body.toString()) as { ParentStudy: string }).ParentStudy,
      });
    else rejected.push(`${file.name}: HTTP ${r.status}`);
  }
  await clinical.waitStable(accepted.map((a) => a.studyId));
  const app = new BridgeApp(loadConfig({ env: env() }), { console: false });
  try {
    await app.runOnce();
  } finally {
    await app.stop();
  }
}, 240_000);

afterAll(async () => {
  await Promise.all([clinical.destroy(), research.destroy()]);
});

describe('the corpus through Orthanc and the bridge', () => {
  it('is accepted by the clinical Orthanc, every file of it', () => {
    expect(rejected).toEqual([]);
    expect(accepted).toHaveLength(files.length);
  });

  it('arrives in research de-identified, in its own transfer syntax (a deflated one as explicit VR), pixel data byte for byte, or is quarantined with a specific reason', async () => {
    const db = openDatabase(dataDir);
    const quarantined = await listQuarantine(db);
    await db.close();
    // Not one instance fails to parse: a parser failure is a reason only for a broken file.
    expect(quarantined.map((q) => q.reason).filter((r) => /parse/.test(r))).toEqual([]);
    expect(quarantined).toEqual([]);
    const ids = await research.get<string[]>('/instances');
    expect(ids).toHaveLength(files.length);
    const bySop = new Map<string, Buffer>();
    for (const id of ids) {
      const bytes = (await research.call('GET', `/instances/${id}/file`)).body;
      const d = parseDicom(bytes);
      bySop.set(str(d.meta[TAG.MediaStorageSOPInstanceUID]), bytes);
    }
    let checked = 0;
    for (const { file } of accepted) {
      const pixel = file.pixelValue;
      const match = [...bySop.values()].find((b) => {
        const loc = locatePixelData(b) ?? undefined;
        return !!loc && b.subarray(loc.end - pixel.length, loc.end).equals(pixel);
      });
      expect({ file: file.name, found: !!match }).toEqual({ file: file.name, found: true });
      const out = parseDicom(match!);
      // A deflated dataset is carried as explicit VR little endian: the same elements, inflated once.
      const carriedAs =
        file.syntax === 'deflated' ? TRANSFER_SYNTAXES.explicitLE : TRANSFER_SYNTAXES[file.syntax];
      expect(out.meta[TAG.TransferSyntaxUID]!.Value![0]).toBe(carriedAs);
      expect(str(out.dict[TAG.Manufacturer])).toBe(file.charset.manufacturer);
      const text = [match!.toString('latin1'), match!.toString('utf8')].join('\n').toLowerCase();
      for (const v of file.planted)
        expect({ file: file.name, v: v.length, found: text.includes(v.toLowerCase()) }).toEqual({
          file: file.name,
          v: v.length,
          found: false,
        });
      checked++;
    }
    expect(checked).toBe(files.length);
  });

  it('introduces no dciodvfy error: each research copy is as valid an object of its IOD as its original', async () => {
    const keys = deriveKeys(TEST_SECRET);
    const bySop = new Map<string, Buffer>();
    for (const id of await research.get<string[]>('/instances')) {
      const bytes = (await research.call('GET', `/instances/${id}/file`)).body;
      bySop.set(str(parseDicom(bytes).dict[TAG.SOPInstanceUID]), bytes);
    }
    const introduced: string[] = [];
    let before = 0;
    let after = 0;
    for (const { file } of accepted) {
      const copy = bySop.get(mapUid(keys, str(parseDicom(file.bytes).dict[TAG.SOPInstanceUID])));
      expect({ file: file.name, found: !!copy }).toEqual({ file: file.name, found: true });
      const original = originalErrors(file.bytes);
      const research = validatorErrors(copy!);
      before += original.length;
      after += research.length;
      for (const e of introducedErrors(original, research)) introduced.push(`${file.name}: ${e}`);
    }
    console.log(
      `dciodvfy on the planted-PHI corpus: ${accepted.length} pairs, ${before} errors in the originals, ${after} in the research copies, ${introduced.length} introduced` +
        introduced.map((l) => `\n  ${l}`).join(''),
    );
    expect(introduced).toEqual([]);
  });

  it('maps a patient to the pseudonym and back with the offline private key, and audits both', async () => {
    const patientId = 'SYN000011'; // one of the corpus's synthetic patients (Japanese set)
    const p = bridge(['pseudonym'], patientId);
    expect(p.code).toBe(0);
    const pseudonym = p.stdout.trim();
    expect(pseudonym).toMatch(/^RB[A-Z2-7]{20}$/);
    const studies =
      await research.get<Array<{ PatientMainDicomTags: { PatientID: string } }>>('/studies?expand');
    expect(studies.map((s) => s.PatientMainDicomTags.PatientID)).toContain(pseudonym);

    const r = bridge(['reidentify', pseudonym, '--private-key', path.join(keyDir, 'reid-private.pem')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`PatientID: ${patientId}`);
    const other = mkdtempSync(path.join(os.tmpdir(), 'bridge-reid-other-'));
    writeFileSync(path.join(other, 'k.pem'), generateReidKeyPair().privatePem);
    const wrong = bridge(['reidentify', pseudonym, '--private-key', path.join(other, 'k.pem')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/is sealed to key\(s\) [0-9a-f]{16}, not to [0-9a-f]{16}/);

    const db = openDatabase(dataDir);
    const audit = await listAdminAudit(db);
    await db.close();
    expect(audit.map((a) => [a.action, a.pseudonym, a.outcome])).toEqual([
      ['pseudonym', pseudonym, 'computed'],
      ['reidentify', pseudonym, 'opened'],
      ['reidentify', pseudonym, 'other-key'],
    ]);
    expect(JSON.stringify(audit)).not.toContain(patientId);
  });
});
