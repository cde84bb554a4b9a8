/**
 * Chaos run on a local Orthanc pair: the bridge daemon is killed with SIGKILL at seeded moments
 * and the research Orthanc is stopped for a while mid-run; then the bridge finishes and the
 * research side is checked. Bounded in time. Prints: studies, instances, kills, outages, lost,
 * duplicated, leaked.
 *
 *   scripts/chaos.sh [--patients 4] [--kills 6] [--outage-seconds 5] [--seed 1] [--deadline-seconds 300]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseDicom } from '../src/dicom/file';
import { deriveKeys, mapUid } from '../src/deid/keys';
import { makeCtStudy, makeMammoStudy, plantedValues, samplePatients } from '../test/fixtures/studies';
import { TestOrthanc, request, waitFor } from '../test/helpers/orthanc';
import { seededRandom as rng } from '../test/helpers/random';
import { str } from '../src/dicom/values';

const { values: args } = parseArgs({
  options: {
    patients: { type: 'string', default: '4' },
    kills: { type: 'string', default: '6' },
    'outage-seconds': { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    'deadline-seconds': { type: 'string', default: '300' },
  },
});
const SECRET = 'chaos-run-secret-not-for-production';
const CLI = path.resolve(__dirname, '../dist/cli.js');
const deadline = Date.now() + Number(args['deadline-seconds']) * 1000;
const left = (): number => Math.max(1000, deadline - Date.now());

async function main(): Promise<void> {
  const clinical = await new TestOrthanc('clinical', { Plugins: [] }).start();
  const research = await new TestOrthanc('research').start();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chaos-bridge-'));
  const bridge = (cmd: string[]): ChildProcess =>
    spawn(process.execPath, [CLI, ...cmd], {
      env: {
        PATH: process.env.PATH,
        BRIDGE_SOURCE_URL: clinical.url,
        BRIDGE_RESEARCH_URL: research.url,
        BRIDGE_DATA_DIR: dataDir,
        BRIDGE_SECRET: SECRET,
        BRIDGE_POLL_INTERVAL_MS: '100',
        BRIDGE_API_PORT: '0',
        BRIDGE_LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
  const exit = (c: ChildProcess): Promise<number | null> => new Promise((resolve) => c.once('exit', resolve));
  const count = async (): Promise<number> => (await research.get<string[]>('/instances')).length;
  try {
    const patients = samplePatients(Number(args.patients));
    const expected: string[] = [];
    const studies = new Set<string>();
    for (const [i, p] of patients.entries()) {
      for (const inst of [
        ...makeCtStudy(p, { studyIndex: 1, studyDate: `2024010${(i % 9) + 1}`, slices: 20, size: 128 }),
        ...makeMammoStudy(p, {
          studyIndex: 2,
          studyDate: `2024020${(i % 9) + 1}`,
          mammoRows: 512,
          mammoColumns: 416,
        }),
      ]) {
        studies.add((await clinical.upload(inst.bytes)).ParentStudy);
        expected.push(inst.sopInstanceUid);
      }
    }
    await clinical.waitStable([...studies]);
    const total = expected.length;
    const r = rng(Number(args.seed));
    let kills = 0;
    let outages = 0;

    // Kills at seeded points of progress.
    const points = Array.from({ length: Number(args.kills) }, (_, k) =>
      Math.floor(((k + r()) / (Number(args.kills) + 2)) * total),
    );
    for (const threshold of points.sort((a, b) => a - b)) {
      const child = bridge(['run']);
      const ended = exit(child);
      const reached = await waitFor(
        'progress',
        async () => (await count()) >= threshold || undefined,
        left(),
        5,
      ).catch(() => false);
      child.kill('SIGKILL');
      await ended;
      if (reached) kills++;
    }

    // An outage of the research server while the daemon works.
    const daemon = bridge(['run']);
    const daemonEnded = exit(daemon);
    const before = await count();
    await waitFor(
      'more progress',
      async () => (await count()) > before || (await count()) >= total || undefined,
      left(),
      5,
    ).catch(() => false);
    if ((await count()) < total) {
      await research.stop();
      outages++;
      await new Promise((resolve) => setTimeout(resolve, Number(args['outage-seconds']) * 1000));
      await research.start();
    }
    await waitFor(
      'the daemon to carry everything',
      async () => (await count()) >= total || undefined,
      Math.min(left(), 120_000),
      200,
    ).catch(() => false);
    daemon.kill('SIGTERM');
    await daemonEnded;

    // Whatever is left (a retry delay still running), one catch-up run.
    const finish = bridge(['run', '--once']);
    await exit(finish);

    const keys = deriveKeys(SECRET);
    const want = new Set(expected.map((u) => mapUid(keys, u)));
    const ids = await research.get<string[]>('/instances');
    const seen = new Map<string, number>();
    const planted = patients
      .flatMap((p) => [...plantedValues(p, 1), ...plantedValues(p, 2)])
      .map((v) => v.toLowerCase());
    let leaked = 0;
    for (const id of ids) {
      const bytes = (await request('GET', `${research.url}/instances/${id}/file`)).body;
      const sop = str(parseDicom(bytes).dict['00080018']);
      seen.set(sop, (seen.get(sop) ?? 0) + 1);
      const text = (bytes.toString('latin1') + bytes.toString('utf8')).toLowerCase();
      if (planted.some((v) => text.includes(v))) leaked++;
    }
    const lost = [...want].filter((u) => !seen.has(u)).length;
    const duplicated = ids.length - seen.size + [...seen.keys()].filter((u) => !want.has(u)).length;
    console.log(
      `chaos: studies ${studies.size}, instances ${total}, kills ${kills}, outages ${outages}, lost ${lost}, duplicated ${duplicated}, leaked ${leaked}`,
    );
    process.exitCode = lost + duplicated + leaked === 0 ? 0 : 1;
  } finally {
    await Promise.all([clinical.destroy(), research.destroy()]);
  }
}

main().catch((err: unknown) => {
  console.error(`chaos: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
