import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BridgeApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { parseDicom } from '../../src/dicom/file';
import { deriveKeys, mapUid } from '../../src/deid/keys';
import type { Dataset } from '../../src/deid/types';
import {
  makeCtStudy,
  makeMammoStudy,
  plantedValues,
  samplePatients,
  type SampleInstance,
  type SamplePatient,
} from '../fixtures/studies';
import { samePixelData } from '../../src/verify/instance';
import { TestOrthanc, getJson, request, waitFor } from '../helpers/orthanc';
import { OPERATOR_TOKEN, TEST_SECRET, bearer } from '../helpers/samples';
import { str } from '../../src/dicom/values';
import { TAG, formatTag } from '../../src/dicom/tags';

const clinical = new TestOrthanc('clinical');
const research = new TestOrthanc('research');
const patients = samplePatients(3);
const originals = new Map<string, SampleInstance>(); // by SOPInstanceUID
const sourceStudies: string[] = [];
const keys = deriveKeys(TEST_SECRET);

function appWith(dataDir: string, extraEnv: Record<string, string> = {}): BridgeApp {
  const cfg = loadConfig({
    env: {
      BRIDGE_SOURCE_URL: clinical.url,
      BRIDGE_RESEARCH_URL: research.url,
      BRIDGE_DATA_DIR: dataDir,
      BRIDGE_SECRET: TEST_SECRET,
      BRIDGE_LOG_LEVEL: 'debug',
      BRIDGE_POLL_INTERVAL_MS: '200',
      BRIDGE_API_TOKEN: OPERATOR_TOKEN,
      ...extraEnv,
    },
  });
  return new BridgeApp(cfg, { console: false });
}

async function runOnce(dataDir: string) {
  const app = appWith(dataDir);
  try {
    return { summary: await app.runOnce(), resets: (await app.feed.snapshot()).resets };
  } finally {
    await app.stop();
  }
}

async function uploadStudies(
  p: SamplePatient,
  index: number,
  tamperCt?: (instances: SampleInstance[]) => SampleInstance[],
): Promise<string[]> {
  const studies = [
    makeCtStudy(p, { studyIndex: 1, studyDate: `2024011${index}`, slices: 6 }),
    makeMammoStudy(p, { studyIndex: 2, studyDate: `2024030${index + 1}` }),
  ];
  const ids: string[] = [];
  for (const [k, study] of studies.entries()) {
    const instances = k === 0 && tamperCt ? tamperCt(study) : study;
    let parent = '';
    for (const inst of instances) {
      originals.set(inst.sopInstanceUid, inst);
      parent = (await clinical.upload(inst.bytes)).ParentStudy;
    }
    ids.push(parent);
  }
  return ids;
}

async function researchFiles(): Promise<Array<{ id: string; bytes: Buffer; dict: Dataset }>> {
  const ids = await getJson<string[]>(`${research.url}/instances`);
  return Promise.all(
    ids.map(async (id) => {
      const bytes = (await request('GET', `${research.url}/instances/${id}/file`)).body;
      return { id, bytes, dict: parseDicom(bytes).dict };
    }),
  );
}

function containsAny(haystack: Buffer | string, values: readonly string[]): string[] {
  const text = Buffer.isBuffer(haystack) ? haystack.toString('latin1') + haystack.toString('utf8') : haystack;
  const lower = text.toLowerCase();
  return values.filter((v) => lower.includes(v.toLowerCase()));
}

const allPlanted = (): string[] => patients.flatMap((p) => [...plantedValues(p, 1), ...plantedValues(p, 2)]);
const mainDataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-data-'));

let firstRun: Awaited<ReturnType<typeof runOnce>>['summary'];

// Every test starts from this state (the studies carried once), not from what an earlier test did.
beforeAll(async () => {
  await Promise.all([clinical.start(), research.start()]);
  for (const [i, p] of patients.entries()) sourceStudies.push(...(await uploadStudies(p, i)));
  await clinical.waitStable(sourceStudies);
  firstRun = (await runOnce(mainDataDir)).summary;
});

afterAll(async () => {
  await Promise.all([clinical.destroy(), research.destroy()]);
});

describe('bridge end to end on a real Orthanc pair', () => {
  it('carries every study of several patients across, from the change log', async () => {
    expect(firstRun).toMatchObject({
      ok: true,
      studies: { done: 6, quarantined: 0, failed: 0 },
      instances: { pushed: 30, quarantined: 0 },
    });
    expect((await getJson<string[]>(`${research.url}/instances`)).length).toBe(30);
  });

  it('leaves no identifying value of the originals anywhere on the research server', async () => {
    const files = await researchFiles();
    const planted = allPlanted();
    for (const f of files) expect(containsAny(f.bytes, planted)).toEqual([]);
    for (const uid of originals.keys())
      for (const f of files) expect(f.bytes.includes(Buffer.from(uid))).toBe(false);
    // what Orthanc shows researchers, too
    for (const level of ['patients', 'studies', 'series', 'instances']) {
      const answer = (await request('GET', `${research.url}/${level}?expand`)).body.toString('utf8');
      expect(containsAny(answer, planted)).toEqual([]);
    }
  });

  it('gives two studies of one patient one pseudonym, and different patients different ones', async () => {
    const rp = await getJson<Array<{ MainDicomTags: { PatientID: string }; Studies: string[] }>>(
      `${research.url}/patients?expand`,
    );
    expect(rp).toHaveLength(3);
    for (const p of rp) {
      expect(p.Studies).toHaveLength(2);
      expect(p.MainDicomTags.PatientID).toMatch(/^RB[A-Z2-7]{20}$/);
    }
    expect(new Set(rp.map((p) => p.MainDicomTags.PatientID)).size).toBe(3);
  });

  it('keeps every reference resolvable inside the de-identified set', async () => {
    const files = await researchFiles();
    const sops = new Set(files.map((f) => str(f.dict[TAG.SOPInstanceUID])));
    const refs: string[] = [];
    const visit = (ds: Dataset): void => {
      for (const [tag, el] of Object.entries(ds)) {
        if (el.vr === 'SQ') (el.Value as Dataset[]).forEach(visit);
        else if (tag === TAG.ReferencedSOPInstanceUID) refs.push(str(el));
      }
    };
    files.forEach((f) => visit(f.dict));
    expect(refs.length).toBeGreaterThanOrEqual(15); // every CT slice after the first points at the first
    for (const r of refs) expect(sops.has(r)).toBe(true);
  });

  it('keeps laterality, view, instance number, modality and pixel data of every instance', async () => {
    const files = await researchFiles();
    const bySop = new Map(files.map((f) => [str(f.dict[TAG.SOPInstanceUID]), f.dict]));
    let compared = 0;
    for (const [uid, inst] of originals) {
      const orig = parseDicom(inst.bytes).dict;
      const out = bySop.get(mapUid(keys, uid));
      expect(out).toBeDefined();
      for (const tag of [
        TAG.InstanceNumber,
        TAG.ImageLaterality,
        TAG.ViewPosition,
        TAG.Laterality,
        TAG.Modality,
        TAG.SOPClassUID,
        TAG.Rows,
        TAG.Columns,
      ]) {
        expect([tag, str(out![tag])]).toEqual([tag, str(orig[tag])]);
      }
      expect(samePixelData(out!, orig)).toBe(true);
      compared++;
    }
    expect(compared).toBe(30);
  });

  it('marks each source study as processed in the clinical Orthanc', async () => {
    for (const id of sourceStudies) {
      const meta = JSON.parse(
        (await request('GET', `${clinical.url}/studies/${id}/metadata/1024`)).body.toString('utf8'),
      ) as Record<string, unknown>;
      expect(meta).toMatchObject({ state: 'done', instances: expect.any(Number) });
    }
  });

  it('adds nothing on a second run, nor with a fresh state database and the same secret', async () => {
    const again = await runOnce(mainDataDir);
    expect(again.summary.instances.pushed).toBe(0);
    const fresh = await runOnce(mkdtempSync(path.join(os.tmpdir(), 'bridge-fresh-')));
    expect(fresh.summary).toMatchObject({ ok: true, instances: { pushed: 0, already: 30 } });
    expect((await getJson<string[]>(`${research.url}/instances`)).length).toBe(30);
  });

  it('skips studies that Orthanc made itself with anonymize', async () => {
    const r = await request('POST', `${clinical.url}/studies/${sourceStudies[0]}/anonymize`, '{}');
    expect(r.status).toBe(200);
    const anonId = (JSON.parse(r.body.toString('utf8')) as { ID: string }).ID;
    await clinical.waitStable([anonId]);
    const { summary } = await runOnce(mainDataDir);
    expect(summary.studies).toMatchObject({ skipped: 1, done: 0 });
    expect((await getJson<string[]>(`${research.url}/instances`)).length).toBe(30);
    await request('DELETE', `${clinical.url}/studies/${anonId}`);
  });

  it('quarantines an instance with a planted leak, names check and tag only, and carries the rest', async () => {
    const p = samplePatients(4)[3]!;
    const family = p.name.split('^')[0]!;
    const [ctId] = await uploadStudies(p, 3, (instances) =>
      instances.map((inst, i) => {
        if (i !== 2) return inst;
        // the patient's family name copied into an element the profile keeps
        const s = inst.bytes.toString('latin1').replace('Model 9000', family.padEnd(10, ' ').slice(0, 10));
        return { ...inst, bytes: Buffer.from(s, 'latin1') };
      }),
    );
    await clinical.waitStable([ctId!]);
    const dataDir = mainDataDir;
    const { summary } = await runOnce(dataDir);
    expect(summary).toMatchObject({
      ok: true,
      studies: { quarantined: 1, done: 1 },
      instances: { pushed: 9, quarantined: 1 },
    });
    const app = appWith(dataDir);
    try {
      const q = await (await import('../../src/store/instances')).listQuarantine(app.db);
      expect(q).toHaveLength(1);
      expect(q[0]).toMatchObject({ check: 'residual-phi', tag: formatTag(TAG.ManufacturerModelName) });
      expect(q[0]!.reason).not.toContain(family);
    } finally {
      await app.stop();
    }
    const files = await researchFiles();
    expect(files.length).toBe(39);
    for (const f of files) expect(containsAny(f.bytes, [family])).toEqual([]);
  });

  it('detects a reset clinical change log and re-reads it without duplicating anything', async () => {
    const before = (await getJson<string[]>(`${research.url}/instances`)).length;
    await clinical.resetAndRestart();
    originals.clear();
    const ids = await uploadStudies(patients[0]!, 0);
    await clinical.waitStable(ids);
    const { summary, resets } = await runOnce(mainDataDir);
    expect(resets).toBe(1);
    expect(summary).toMatchObject({ ok: true, studies: { done: 2 }, instances: { pushed: 0 } });
    expect((await getJson<string[]>(`${research.url}/instances`)).length).toBe(before);
  });

  it('serves health, status and jobs, and queues a study by API', async () => {
    const app = appWith(mainDataDir, { BRIDGE_API_PORT: '0' });
    await app.start();
    try {
      const api = app.apiAddress()!;
      const auth = bearer(OPERATOR_TOKEN);
      expect(await getJson(`${api}/healthz`)).toEqual({ ok: true });
      const status = await getJson<{ jobs: Record<string, number>; feed: { cursor: number } }>(
        `${api}/api/status`,
        auth,
      );
      expect(status.jobs.done).toBeGreaterThan(0);
      expect((await getJson<unknown[]>(`${api}/api/jobs?state=done`, auth)).length).toBeGreaterThan(0);
      expect((await request('GET', `${api}/api/jobs?state=bogus`, undefined, auth)).status).toBe(400);
      expect((await request('POST', `${api}/api/studies/not-an-id/process`, undefined, auth)).status).toBe(
        400,
      );
      expect(
        (
          await request(
            'POST',
            `${api}/api/studies/00000000-00000000-00000000-00000000-00000000/process`,
            undefined,
            auth,
          )
        ).status,
      ).toBe(404);
      const studyId = (await getJson<string[]>(`${clinical.url}/studies`))[0]!;
      const r = await request('POST', `${api}/api/studies/${studyId}/process`, undefined, auth);
      expect(r.status).toBe(202);
      await waitFor('the API-queued job to finish', async () => {
        const jobs = await getJson<Array<{ trigger: string; state: string }>>(
          `${api}/api/jobs?study=${studyId}`,
          auth,
        );
        return jobs.find((j) => j.trigger === 'api' && j.state === 'done');
      });
    } finally {
      await app.stop();
    }
  });

  it('writes no identifying value into its logs or its state database', () => {
    const planted = allPlanted();
    const logDir = path.join(mainDataDir, 'logs');
    const logs = readdirSync(logDir).map((f) => readFileSync(path.join(logDir, f)));
    expect(logs.length).toBeGreaterThan(0);
    for (const l of logs) expect(containsAny(l, planted)).toEqual([]);
    for (const f of readdirSync(mainDataDir).filter((n) => n.startsWith('bridge.sqlite'))) {
      expect(containsAny(readFileSync(path.join(mainDataDir, f)), planted)).toEqual([]);
    }
  });
});
