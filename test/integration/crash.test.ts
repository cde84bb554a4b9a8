/**
 * SIGKILL at seeded moments of a multi-study run, then a rerun: every instance once on every
 * destination of the route: the research Orthanc (REST), a DICOMweb server (an Orthanc with
 * Debian's DICOMweb plugin), a DICOM peer (dcmtk's storescp) and a folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDicom } from '../../src/dicom/file';
import { deriveKeys, mapUid } from '../../src/deid/keys';
import { makeCtStudy, makeMammoStudy, samplePatients } from '../fixtures/studies';
import { TestOrthanc, request, waitFor } from '../helpers/orthanc';
import { TEST_SECRET } from '../helpers/samples';
import { seededRandom as rng } from '../helpers/random';
import { str } from '../../src/dicom/values';
import { TAG } from '../../src/dicom/tags';
import { dimseEntry, startStorescp } from '../helpers/dimse';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
const SEED = 424242;
const clinical = new TestOrthanc('clinical', { Plugins: [] });
const research = new TestOrthanc('research');
const web = new TestOrthanc('research', {
  Plugins: ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so'],
  DicomWeb: { Enable: true, Root: '/dicom-web/' },
});
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-crash-'));
const scpDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-crash-storescp-'));
const folder = mkdtempSync(path.join(os.tmpdir(), 'bridge-crash-folder-'));
const configFile = path.join(dataDir, 'bridge.json');
let scp: Awaited<ReturnType<typeof startStorescp>>;
const expectedSops: string[] = [];

function bridge(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    env: {
      PATH: process.env.PATH,
      // The run's temporary folder (test/helpers/tmpRoot.js): a bridge killed mid-send leaves its files there.
      TMPDIR: process.env.TMPDIR,
      BRIDGE_SOURCE_URL: clinical.url,
      BRIDGE_RESEARCH_URL: research.url,
      BRIDGE_CONFIG: configFile,
      BRIDGE_DATA_DIR: dataDir,
      BRIDGE_SECRET: TEST_SECRET,
      BRIDGE_POLL_INTERVAL_MS: '100',
      BRIDGE_CONCURRENCY: '2',
      BRIDGE_API_PORT: '0',
    },
    stdio: 'ignore',
  });
}

const researchCount = async (): Promise<number> => (await research.get<string[]>('/instances')).length;

beforeAll(async () => {
  await Promise.all([clinical.start(), research.start(), web.start()]);
  scp = await startStorescp(scpDir);
  writeFileSync(
    configFile,
    JSON.stringify({
      destinations: {
        web: { kind: 'dicomweb', url: `${web.url}/dicom-web`, confirm: 'md5' },
        pacs: dimseEntry(scp.port, 'STORESCP'),
        files: { kind: 'folder', dir: folder, pattern: '{SOPInstanceUID}.dcm' },
      },
      routes: [{ name: 'everywhere', destinations: ['research', 'web', 'pacs', 'files'] }],
    }),
  );
  const studies = new Set<string>();
  for (const [i, p] of samplePatients(3).entries()) {
    for (const inst of [
      ...makeCtStudy(p, { studyIndex: 1, studyDate: `2024020${i + 1}`, slices: 12 }),
      ...makeMammoStudy(p, { studyIndex: 2, studyDate: `2024030${i + 1}` }),
    ]) {
      studies.add((await clinical.upload(inst.bytes)).ParentStudy);
      expectedSops.push(inst.sopInstanceUid);
    }
  }
  await clinical.waitStable([...studies]);
});
afterAll(async () => {
  scp?.proc.kill();
  await Promise.all([clinical.destroy(), research.destroy(), web.destroy()]);
});

describe('crash safety', () => {
  it('loses and duplicates nothing when killed with SIGKILL at seeded moments of a multi-study run', async () => {
    const r = rng(SEED);
    const total = expectedSops.length; // 48 instances in 6 studies
    let kills = 0;
    // Kill points are states, not times: after a seeded number of instances reached research.
    const killAt = Array.from({ length: 4 }, (_, k) => Math.floor(((k + r()) / 5) * total)).sort(
      (a, b) => a - b,
    );
    for (const threshold of killAt) {
      const child = bridge(['run']);
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const reached = await waitFor(
        `${threshold} instances on research`,
        async () => (await researchCount()) >= threshold || undefined,
        60_000,
        5,
      ).catch(() => false);
      child.kill('SIGKILL');
      await exited;
      if (reached) kills++;
    }
    const finish = bridge(['run', '--once']);
    const code = await new Promise<number | null>((resolve) => finish.once('exit', resolve));
    expect(code).toBe(0);
    expect(kills).toBeGreaterThanOrEqual(3);

    // Every source instance is on research exactly once, under its keyed UID; nothing else is there.
    const ids = await research.get<string[]>('/instances');
    expect(ids).toHaveLength(total);
    const keys = deriveKeys(TEST_SECRET);
    const sops = new Set<string>();
    for (const id of ids)
      sops.add(
        str(
          parseDicom((await request('GET', `${research.url}/instances/${id}/file`)).body).dict[
            TAG.SOPInstanceUID
          ],
        ),
      );
    const expected = expectedSops.map((u) => mapUid(keys, u)).sort();
    expect([...sops].sort()).toEqual(expected);
    expect((await research.get<string[]>('/studies')).length).toBe(6);
    // The DICOMweb server stored each once (a STOW-RS of an instance it holds adds no NewInstance).
    const onWeb = await web.get<Array<{ MainDicomTags: { SOPInstanceUID: string } }>>('/instances?expand');
    expect(onWeb.map((i) => i.MainDicomTags.SOPInstanceUID).sort()).toEqual(expected);
    const changes = await web.get<{ Changes: Array<{ ChangeType: string }> }>('/changes?limit=10000');
    expect(changes.Changes.filter((c) => c.ChangeType === 'NewInstance')).toHaveLength(total);
    // The DICOM peer and the folder hold one file per instance (a re-sent instance replaces its file).
    const sopOf = (file: string) => str(parseDicom(readFileSync(file)).dict[TAG.SOPInstanceUID]);
    expect(
      readdirSync(scpDir)
        .map((f) => sopOf(path.join(scpDir, f)))
        .sort(),
    ).toEqual(expected);
    expect(
      readdirSync(folder)
        .map((f) => sopOf(path.join(folder, f)))
        .sort(),
    ).toEqual(expected);
    // The storescu files of the killed runs were in the data folder's spool, and the next start
    // removed them; the last run removed its own.
    expect(readdirSync(path.join(dataDir, 'spool'))).toEqual([]);
  });
});
