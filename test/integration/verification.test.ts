import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BridgeApp, type RunSummary } from '../../src/app';
import { loadConfig } from '../../src/config';
import { deriveKeys, pseudonymFor } from '../../src/deid/keys';
import { orthancInstanceId, orthancStudyId } from '../../src/orthanc/ids';
import { checkConsistency, queueReprocess } from '../../src/pipeline/admin';
import { listAudit } from '../../src/store/audit';
import { listJobs, type Job } from '../../src/store/jobs';
import { listQuarantine } from '../../src/store/instances';
import { listMetadata } from '../../src/store/metadata';
import { makeCtStudy, makeMammoStudy, plantedValues, samplePatients } from '../fixtures/studies';
import { parseDicom } from '../../src/dicom/file';
import { TestOrthanc } from '../helpers/orthanc';
import { str } from '../../src/dicom/values';
import { TAG, formatTag } from '../../src/dicom/tags';

const PASSWORD = 'research-pw-for-tests';
const clinical = new TestOrthanc('clinical');
const research = new TestOrthanc('research', {
  AuthenticationEnabled: true,
  RegisteredUsers: { bridge: PASSWORD },
});
const patients = samplePatients(2);
const SECRET_A = 'first-secret-for-verification-tests';
const SECRET_B = 'second-secret-after-a-key-rotation';
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-verify-'));
const sinkDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-sink-'));
const configFile = path.join(dataDir, 'bridge.json');
let sourceStudies: string[] = [];
let refused: { summary: RunSummary; quarantine: unknown[]; jobs: Job[] };
let fixed: { summary: RunSummary; quarantine: unknown[]; researchInstances: number };

function app(opts: { secret?: string; password?: string } = {}): BridgeApp {
  return new BridgeApp(
    loadConfig({
      env: {
        BRIDGE_SOURCE_URL: clinical.url,
        BRIDGE_RESEARCH_URL: research.url,
        BRIDGE_RESEARCH_USERNAME: 'bridge',
        BRIDGE_RESEARCH_PASSWORD: opts.password ?? PASSWORD,
        BRIDGE_DATA_DIR: dataDir,
        BRIDGE_SECRET: opts.secret ?? SECRET_A,
      },
      configPath: configFile,
    }),
    { console: false },
  );
}

async function withApp<T>(
  fn: (a: BridgeApp) => Promise<T> | T,
  opts: { secret?: string; password?: string } = {},
): Promise<T> {
  const a = app(opts);
  try {
    return await fn(a);
  } finally {
    await a.stop();
  }
}

interface ResearchStudy {
  ID: string;
  PatientMainDicomTags: { PatientID: string };
  Instances?: string[];
}

beforeAll(async () => {
  writeFileSync(
    configFile,
    JSON.stringify({ research: { folderSink: { dir: sinkDir } }, pipeline: { maxAttempts: 1 } }),
  );
  await Promise.all([clinical.start(), research.start()]);
  const ids = new Set<string>();
  for (const [i, p] of patients.entries()) {
    for (const inst of [
      ...makeCtStudy(p, { studyIndex: 1, studyDate: `2023060${i + 1}`, slices: 4 }),
      ...makeMammoStudy(p, { studyIndex: 2, studyDate: `2023070${i + 1}` }),
    ]) {
      ids.add((await clinical.upload(inst.bytes)).ParentStudy);
    }
  }
  sourceStudies = [...ids];
  await clinical.waitStable(sourceStudies);
  // Every test starts from this state, not from what an earlier test did: a first run with the
  // wrong research password, then the fix (the studies queued again, as the retry sweep would).
  const summary = await withApp((a) => a.runOnce(), { password: 'wrong-password' });
  refused = await withApp(async (a) => ({
    summary,
    quarantine: await listQuarantine(a.db),
    jobs: await listJobs(a.db, { state: 'failed' }),
  }));
  fixed = await withApp(async (a) => {
    for (const s of sourceStudies) await a.queueStudy(s, 'api');
    const summary = await a.runOnce({ poll: false });
    return { summary, quarantine: await listQuarantine(a.db), researchInstances: 0 };
  });
  fixed = { ...fixed, researchInstances: (await research.get<string[]>('/instances')).length };
}, 120_000);

afterAll(async () => {
  await Promise.all([clinical.destroy(), research.destroy()]);
});

describe('verification, quarantine, audit and re-anonymization', () => {
  it('fails each study once, quarantining nothing, when research refuses the credentials; a retry after the fix pushes them', () => {
    expect(refused.summary.studies).toMatchObject({ failed: 4 });
    expect(refused.summary.instances.quarantined).toBe(0);
    // A destination-wide refusal is one fault of the job, not sixteen instance quarantines.
    expect(refused.quarantine).toHaveLength(0);
    expect(refused.jobs).toHaveLength(4);
    for (const j of refused.jobs) {
      expect(j.reason).toMatch(/ORTHANC_HTTP_401/);
      expect(j.reason).not.toContain('wrong-password');
    }
    expect(fixed.summary.ok).toBe(true);
    expect(fixed.summary.instances.pushed).toBe(16);
    expect(fixed.quarantine).toHaveLength(0);
    expect(fixed.researchInstances).toBe(16);
  });

  it('computes the research IDs Orthanc gives', async () => {
    const studies =
      await research.get<Array<ResearchStudy & { MainDicomTags: { StudyInstanceUID: string } }>>(
        '/studies?expand',
      );
    for (const s of studies)
      expect(orthancStudyId(s.PatientMainDicomTags.PatientID, s.MainDicomTags.StudyInstanceUID)).toBe(s.ID);
    const instId = (await research.get<string[]>('/instances'))[0]!;
    const d = parseDicom((await research.call('GET', `/instances/${instId}/file`)).body).dict;
    expect(
      orthancInstanceId(
        str(d[TAG.PatientID]),
        str(d[TAG.StudyInstanceUID]),
        str(d[TAG.SeriesInstanceUID]),
        str(d[TAG.SOPInstanceUID]),
      ),
    ).toBe(instId);
  });

  it('writes audit reports and a metadata export that match what the research server holds', async () => {
    const { audit, metadata } = await withApp(async (a) => ({
      audit: await listAudit(a.db),
      metadata: await listMetadata(a.db),
    }));
    const latest = new Map(audit.map((r) => [r.sourceStudyId, r]));
    expect(latest.size).toBe(4);
    for (const r of latest.values()) {
      const s = await research.get<ResearchStudy & { Instances: string[] }>(
        `/studies/${r.researchStudyId}?expand`,
      );
      const instances = await research.get<string[]>(`/studies/${r.researchStudyId}/instances`);
      expect(r.pseudonym).toBe(s.PatientMainDicomTags.PatientID);
      expect(r.instancesTotal).toBe(instances.length);
      expect(r.keyVersion).toBe(deriveKeys(SECRET_A).version);
      expect(r.checks).toMatchObject({
        conformance: instances.length,
        'residual-phi': instances.length,
        study: instances.length,
      });
      const file = JSON.parse(
        readFileSync(
          path.join(dataDir, 'reports', 'studies', r.sourceStudyId, `${r.destination}.json`),
          'utf8',
        ),
      ) as typeof r;
      expect(file.researchStudyId).toBe(r.researchStudyId);
    }
    const csv = readFileSync(path.join(dataDir, 'reports', 'audit.csv'), 'utf8')
      .trim()
      .split('\r\n');
    expect(csv[0]).toMatch(/^sourceStudyId,destination,route,researchStudyId,pseudonym,state/);
    expect(csv.length - 1).toBe(audit.length);

    expect(metadata).toHaveLength(16);
    for (const m of metadata) {
      const tags = await research.get<Record<string, string>>(`/instances/${m.researchId}/simplified-tags`);
      for (const [k, v] of Object.entries(m.fields)) expect([k, v]).toEqual([k, tags[k] ?? '']);
      expect(m.fields.StudyDate).toMatch(/^\d{8}$/);
      expect(['20230601', '20230602', '20230701', '20230702']).not.toContain(m.fields.StudyDate); // shifted
      expect(m.fields.SeriesDescription ?? '').toBe(''); // the default profile removes it
    }
    const perStudy = readdirSync(path.join(dataDir, 'exports'));
    expect(perStudy).toHaveLength(4);
    for (const study of perStudy)
      expect(readdirSync(path.join(dataDir, 'exports', study)).sort()).toEqual([
        'research.csv',
        'research.json',
      ]);
  });

  it('writes every pushed file to the folder sink under sanitised names, inside the folder', async () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else files.push(path.relative(sinkDir, path.join(d, e.name)));
      }
    };
    walk(sinkDir);
    expect(files).toHaveLength(16);
    for (const f of files) expect(f).toMatch(/^RB[A-Z2-7]{20}\/\d{8}\/(CT|MG)_[A-Z]+_[A-Z]+_\d+\.dcm$/);
    const planted = patients.flatMap((p) => plantedValues(p, 1));
    for (const f of files) for (const v of planted) expect(f.toLowerCase()).not.toContain(v.toLowerCase());
  });

  it('detects a research copy changed after the push with the study check', async () => {
    const meta = await withApp((a) => listMetadata(a.db));
    const victim = meta[0]!;
    const bytes = (await research.call('GET', `/instances/${victim.researchId}/file`)).body;
    const tampered = Buffer.from(bytes.toString('latin1').replace('ACME Imaging', 'ACME Imagine'), 'latin1');
    expect(tampered.equals(bytes)).toBe(false);
    await research.call('DELETE', `/instances/${victim.researchId}`);
    expect(JSON.parse((await research.call('POST', '/instances', tampered)).body.toString()).ID).toBe(
      victim.researchId,
    );

    const q = await withApp(async (a) => {
      await a.queueStudy(victim.sourceStudyId, 'cli');
      const summary = await a.runOnce({ poll: false });
      return { summary, entries: await listQuarantine(a.db) };
    });
    expect(q.summary.studies).toMatchObject({ quarantined: 1 });
    expect(q.entries).toEqual([
      expect.objectContaining({
        check: 'study',
        tag: formatTag(TAG.SOPInstanceUID),
        studyId: victim.sourceStudyId,
      }),
    ]);

    // reprocess replaces the research copy with the right bytes
    const fixed = await withApp(async (a) => {
      await queueReprocess(a.db, { study: victim.sourceStudyId });
      const summary = await a.runOnce({ poll: false });
      return { summary, entries: await listQuarantine(a.db) };
    });
    expect(fixed.summary.studies).toMatchObject({ done: 1 });
    expect(fixed.entries).toHaveLength(0);
    expect((await research.call('GET', `/instances/${victim.researchId}/file`)).body.equals(bytes)).toBe(
      true,
    );
  });

  it('after a key change, reprocess leaves exactly one research study per source study, with the new pseudonyms', async () => {
    const before = await withApp((a) => checkConsistency(a.stage));
    expect(before).toEqual([]);
    const stale = await withApp((a) => checkConsistency(a.stage), { secret: SECRET_B });
    expect(stale).toHaveLength(4);
    expect(stale[0]!.problems).toEqual(expect.arrayContaining(['pseudonym differs', 'UIDs differ']));

    const summary = await withApp(
      async (a) => {
        expect(await queueReprocess(a.db, { all: true })).toHaveLength(4);
        return a.runOnce({ poll: false });
      },
      { secret: SECRET_B },
    );
    expect(summary).toMatchObject({ ok: true, studies: { done: 4 }, instances: { pushed: 16 } });
    const studies = await research.get<ResearchStudy[]>('/studies?expand');
    expect(studies).toHaveLength(4);
    const keysB = deriveKeys(SECRET_B);
    const expected = new Set(patients.map((p) => pseudonymFor(keysB, p.id, p.issuer)));
    for (const s of studies) expect(expected.has(s.PatientMainDicomTags.PatientID)).toBe(true);
    expect((await research.get<string[]>('/instances')).length).toBe(16);
    expect(await withApp((a) => checkConsistency(a.stage), { secret: SECRET_B })).toEqual([]);
    const audit = await withApp((a) => listAudit(a.db));
    expect(audit.filter((r) => r.mode === 'reprocess' && r.keyVersion === keysB.version)).toHaveLength(4);
  });

  it('keeps identifying values out of reports, exports and logs', () => {
    const planted = patients.flatMap((p) => [...plantedValues(p, 1), ...plantedValues(p, 2)]);
    const texts: string[] = [];
    const walk = (d: string): void => {
      if (!existsSync(d)) return;
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const full = path.join(d, e.name);
        if (e.isDirectory()) walk(full);
        else texts.push(readFileSync(full).toString('latin1') + readFileSync(full).toString('utf8'));
      }
    };
    walk(dataDir);
    expect(texts.length).toBeGreaterThan(10);
    for (const t of texts)
      for (const v of planted) expect(t.toLowerCase().includes(v.toLowerCase())).toBe(false);
  });
});
