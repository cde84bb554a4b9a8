/**
 * Real-world files through real clinical and research Orthanc servers and the bridge: pydicom's
 * test corpus and nibabel's DICOM test data (Debian packages). Every file the clinical Orthanc
 * accepts ends carried or quarantined; an ordinary image is quarantined only for a reason on the
 * short written list below; no identity value of any file reaches research. The counts and the
 * reasons are printed (the reasons never carry values, so printing them is safe).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BridgeApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/store/db';
import { listQuarantine, type QuarantineEntry } from '../../src/store/instances';
import { TEST_SECRET } from '../helpers/samples';
import { TestOrthanc } from '../helpers/orthanc';
import { parseDicom } from '../../src/dicom/file';
import { deriveKeys, mapUid } from '../../src/deid/keys';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
import { isOrdinaryImage, realWorldFiles, type RealFile } from '../helpers/realWorld';
import { introducedErrors, originalErrors, validatorErrors } from '../helpers/dciodvfy';
import { str } from '../../src/dicom/values';
import { TAG } from '../../src/dicom/tags';

/**
 * The only reasons for which an ordinary image may stay behind: a file that is truly broken (its
 * pixel data or its dataset ends early). Each entry names the file, so a new quarantine of another
 * file for the same reason still fails the test.
 */
const ALLOWED_ORDINARY_QUARANTINES: ReadonlyArray<{ file: RegExp; reason: RegExp; why: string }> = [
  {
    // rtdose_rle.dcm is rtdose.dcm in RLE: the same UIDs, a PatientID that differs only by a
    // trailing space, so Orthanc files it under another patient. Its ReferencedRTPlanSequence is
    // stored as a defined-length UN holding implicit VR items, which dcmjs misreads (the reference
    // UID passed through unmapped before this was refused); rtdose.dcm carries the same instance.
    file: /^rtdose_rle(_1frame)?\.dcm$/,
    reason:
      /^(study: the same SOP Instance UID is in another source study \([0-9a-f-]{44}\), already carried|conformance: \(0000,0000\) parse: the dataset cannot be read element by element: an element stored as UN holds sequence items)/,
    why: 'a sequence stored as UN in implicit VR, or the same SOP instance already on research',
  },
];

const clinical = new TestOrthanc('clinical');
const research = new TestOrthanc('research');
const files = realWorldFiles();
const MAX_ROUNDS = 16;

/**
 * One pass of the bridge. Many test files are one SOP instance in several encodings (MR_small.dcm
 * as RLE, JPEG-LS, JPEG 2000, big endian...): Orthanc keeps the first and answers AlreadyStored for
 * the rest, so each further encoding goes in a later round, on emptied servers and a fresh state.
 */
interface Round {
  readonly dataDir: string;
  readonly env: Record<string, string>;
  readonly accepted: Array<{ file: RealFile; instanceId: string; studyId: string }>;
  quarantine: QuarantineEntry[];
  researchFiles: Buffer[];
}
const rounds: Round[] = [];
let refused = 0;
const CLI = path.resolve(__dirname, '../../dist/cli.js');

async function emptyServer(server: TestOrthanc): Promise<void> {
  for (const id of await server.get<string[]>('/patients')) await server.call('DELETE', `/patients/${id}`);
}

async function runRound(pending: readonly RealFile[]): Promise<RealFile[]> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-realworld-'));
  const round: Round = {
    dataDir,
    env: {
      BRIDGE_SOURCE_URL: clinical.url,
      BRIDGE_RESEARCH_URL: research.url,
      BRIDGE_DATA_DIR: dataDir,
      BRIDGE_SECRET: TEST_SECRET,
    },
    accepted: [],
    quarantine: [],
    researchFiles: [],
  };
  const later: RealFile[] = [];
  for (const file of pending) {
    const r = await clinical.call('POST', '/instances', readFileSync(file.path));
    if (r.status !== 200) {
      refused++;
      continue;
    }
    const body = JSON.parse(r.body.toString()) as { ID: string; ParentStudy: string; Status: string };
    if (body.Status === 'AlreadyStored') later.push(file);
    else round.accepted.push({ file, instanceId: body.ID, studyId: body.ParentStudy });
  }
  await clinical.waitStable([...new Set(round.accepted.map((a) => a.studyId))]);
  const app = new BridgeApp(loadConfig({ env: round.env }), { console: false });
  try {
    await app.runOnce();
  } finally {
    await app.stop();
  }
  const db = openDatabase(dataDir);
  round.quarantine = await listQuarantine(db, { limit: 10_000 });
  await db.close();
  const ids = await research.get<string[]>('/instances');
  round.researchFiles = await Promise.all(
    ids.map(async (id) => (await research.call('GET', `/instances/${id}/file`)).body),
  );
  rounds.push(round);
  await Promise.all([emptyServer(clinical), emptyServer(research)]);
  return later;
}

beforeAll(async () => {
  await Promise.all([clinical.start(), research.start()]);
  let pending: RealFile[] = files;
  for (let i = 0; i < MAX_ROUNDS && pending.length > 0; i++) pending = await runRound(pending);
  if (pending.length > 0) throw new Error(`${pending.length} files left after ${MAX_ROUNDS} rounds`);
}, 900_000);

const accepted = () => rounds.flatMap((r) => r.accepted.map((a) => ({ ...a, round: r })));
const quarantineOf = (round: Round, instanceId: string) =>
  round.quarantine.find((q) => q.sourceId === instanceId);

afterAll(async () => {
  await Promise.all([clinical.destroy(), research.destroy()]);
});

describe('real-world files (pydicom, nibabel) through Orthanc and the bridge', () => {
  it('finds the corpora installed', () => {
    expect(files.filter((f) => f.corpus === 'pydicom').length).toBeGreaterThan(40);
    expect(accepted().length).toBeGreaterThan(40);
  });

  it('carries or quarantines every file the clinical Orthanc accepts, and prints the counts', () => {
    const rows: string[] = [];
    const counts = new Map<string, { accepted: number; carried: number; quarantined: number }>();
    for (const a of accepted()) {
      const q = quarantineOf(a.round, a.instanceId);
      const kind = isOrdinaryImage(a.file) ? 'ordinary' : 'other';
      const set = a.file.name.startsWith('dicomdirtests/') ? `${a.file.corpus} DICOMDIR set` : a.file.corpus;
      const key = `${set}/${kind}`;
      const c = counts.get(key) ?? { accepted: 0, carried: 0, quarantined: 0 };
      c.accepted++;
      if (q) c.quarantined++;
      else c.carried++;
      counts.set(key, c);
      if (q) rows.push(`${kind.padEnd(8)} ${a.file.corpus}/${a.file.name}: ${q.reason}`);
    }
    console.log(
      [
        `real-world corpora: ${files.length} files read by pydicom, ${accepted().length} accepted by Orthanc in ${rounds.length} round(s), ${refused} refused`,
        ...[...counts].map(
          ([k, c]) => `${k}: ${c.accepted} accepted, ${c.carried} carried, ${c.quarantined} quarantined`,
        ),
        'quarantined:',
        ...rows,
      ].join('\n'),
    );
    for (const a of accepted()) {
      const q = quarantineOf(a.round, a.instanceId);
      if (!q || !isOrdinaryImage(a.file)) continue;
      const allowed = ALLOWED_ORDINARY_QUARANTINES.some(
        (x) => x.file.test(a.file.name) && x.reason.test(q.reason),
      );
      expect({ file: a.file.name, reason: q.reason, allowed }).toEqual({
        file: a.file.name,
        reason: q.reason,
        allowed: true,
      });
    }
  });

  it('quarantines a second copy of a SOP instance only when the first copy is on research', () => {
    for (const round of rounds) {
      for (const q of round.quarantine.filter((x) =>
        /same SOP Instance UID is in another source study/.test(x.reason),
      )) {
        const owner = /\(([0-9a-f-]{44})\)/.exec(q.reason)?.[1];
        expect(round.accepted.some((a) => a.studyId === owner && !quarantineOf(round, a.instanceId))).toBe(
          true,
        );
      }
    }
  });

  it('summarises the quarantine by check and reason with `bridge quarantine list --summary`', () => {
    const round = rounds[0]!;
    const r = spawnSync(process.execPath, [CLI, 'quarantine', 'list', '--summary'], {
      env: { PATH: process.env.PATH ?? '', ...round.env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    console.log(r.stdout);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(
      new RegExp(`^${round.quarantine.length} open entr(y|ies) in \\d+ group\\(s\\)$`),
    );
    const counted = lines.slice(0, -1).reduce((n, l) => n + Number(l.trim().split(/\s+/)[0]), 0);
    expect(counted).toBe(round.quarantine.length);
  });

  it('puts every accepted file that is not quarantined on research', () => {
    for (const round of rounds) {
      const carried = round.accepted.filter((a) => !quarantineOf(round, a.instanceId)).length;
      expect(round.researchFiles.length).toBe(carried);
    }
  });

  it('leaves no identity value of any file in its research copy', () => {
    const keys = deriveKeys(TEST_SECRET);
    const leaks: string[] = [];
    let compared = 0;
    for (const round of rounds) {
      const bySop = new Map<string, string>();
      for (const b of round.researchFiles) {
        const sop = str(parseDicom(b).dict[TAG.SOPInstanceUID]);
        bySop.set(sop, [b.toString('latin1'), b.toString('utf8')].join('\n').toLowerCase());
      }
      for (const a of round.accepted) {
        let text = a.file.sopInstance ? bySop.get(mapUid(keys, a.file.sopInstance)) : undefined;
        if (text === undefined) continue;
        // A site named after its equipment's maker shows in what the maker wrote, which every profile keeps.
        for (const v of a.file.vendor) text = text.split(v.toLowerCase()).join('\u0000');
        compared++;
        a.file.identity.forEach((v, i) => {
          // As a whole token: the digits of a short ID often occur inside a new UID or a number by chance.
          const token = new RegExp(
            `(^|[^\\p{L}\\p{N}.])${escapeRegExp(v.toLowerCase())}($|[^\\p{L}\\p{N}.])`,
            'u',
          );
          if (token.test(text)) leaks.push(`${a.file.name} identity value #${i}`);
        });
      }
    }
    expect(compared).toBeGreaterThan(100);
    expect(leaks).toEqual([]);
  });

  it('introduces no dciodvfy error: each research copy is as valid an object of its IOD as its original', () => {
    const keys = deriveKeys(TEST_SECRET);
    const introduced: string[] = [];
    let pairs = 0;
    let before = 0;
    let after = 0;
    for (const round of rounds) {
      const bySop = new Map<string, Buffer>();
      for (const b of round.researchFiles) bySop.set(str(parseDicom(b).dict[TAG.SOPInstanceUID]), b);
      for (const a of round.accepted) {
        const copy = a.file.sopInstance ? bySop.get(mapUid(keys, a.file.sopInstance)) : undefined;
        if (!copy) continue;
        const original = originalErrors(a.file.path);
        const research = validatorErrors(copy);
        pairs++;
        before += original.length;
        after += research.length;
        for (const e of introducedErrors(original, research))
          introduced.push(`${a.file.corpus}/${a.file.name}: ${e}`);
      }
    }
    console.log(
      `dciodvfy on real-world pairs: ${pairs} pairs, ${before} errors in the originals, ${after} in the research copies, ${introduced.length} introduced` +
        introduced.map((l) => `\n  ${l}`).join(''),
    );
    expect(pairs).toBeGreaterThan(100);
    expect(introduced).toEqual([]);
  });
});
