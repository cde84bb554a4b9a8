import { spawnSync } from 'node:child_process';
import type { TargetContext } from '../../src/pipeline/context';
import { prepare } from '../../src/pipeline/instance';
import { plantedValues } from '../fixtures/studies';
import { ctSlice, firstPatient, mammoView, testContext } from '../helpers/samples';
import { seededRandom as rng } from '../helpers/random';
import { ByteBudget } from '../../src/util/budget';

const ctx = { deid: testContext(), budget: new ByteBudget(512 << 20) } as unknown as TargetContext;
const SEED = 20261128;
const RUNS = 300;

type Mutation = (b: Buffer, r: () => number) => Buffer;
const pick = (r: () => number, n: number): number => Math.floor(r() * n);

const MUTATIONS: Record<string, Mutation> = {
  truncate: (b, r) => b.subarray(0, pick(r, b.length)),
  flipHeaderBytes: (b, r) => {
    const c = Buffer.from(b);
    for (let i = 0; i < 1 + pick(r, 8); i++) c[132 + pick(r, Math.min(2000, c.length - 132))] = pick(r, 256);
    return c;
  },
  wrongLength: (b, r) => {
    const c = Buffer.from(b);
    const at = 132 + pick(r, Math.min(2000, c.length - 140));
    c.writeUInt32LE([0xffffffff, 0x7fffffff, 0, pick(r, 1 << 20)][pick(r, 4)]!, at);
    return c;
  },
  badVr: (b, r) => {
    const c = Buffer.from(b);
    const at = 132 + pick(r, Math.min(2000, c.length - 140));
    c.write(['ZZ', '\0\0', 'SQ', 'UN', 'OB'][pick(r, 5)]!, at, 'latin1');
    return c;
  },
  deepNesting: (b, r) => {
    // 2,000 nested undefined-length sequences appended to the header
    const depth = 500 + pick(r, 1500);
    const open = Buffer.from([
      0x08, 0x00, 0x40, 0x11, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff,
      0xff, 0xff,
    ]);
    return Buffer.concat([b.subarray(0, 2000), Buffer.concat(Array.from({ length: depth }, () => open))]);
  },
  hugeValue: (b) => {
    // a 4 MB LO value (far above its 64-character limit) in a private element
    const value = Buffer.alloc(4 * 1024 * 1024, 0x41);
    const head = Buffer.from([0x09, 0x00, 0x99, 0x10, 0x4c, 0x4f]);
    const len = Buffer.alloc(2);
    len.writeUInt16LE(0xffff);
    return Buffer.concat([b.subarray(0, 2000), head, len, value]);
  },
};

describe('fuzzing the engine with mutated files (seeded, bounded)', () => {
  it(`never throws or hangs on ${RUNS} mutated files; each ends verified or quarantined with a reason without values`, async () => {
    const r = rng(SEED);
    const originals = [ctSlice().bytes, mammoView().bytes];
    const planted = plantedValues(firstPatient(), 1).map((v) => v.toLowerCase());
    const names = Object.keys(MUTATIONS);
    const tally: Record<string, { verified: number; quarantined: number }> = {};
    const reasons: Record<string, string[]> = {};
    for (let i = 0; i < RUNS; i++) {
      const name = names[i % names.length]!;
      const input = MUTATIONS[name]!(originals[pick(r, originals.length)]!, r);
      const t0 = Date.now();
      const out = await prepare(input, ctx);
      expect(Date.now() - t0).toBeLessThan(10_000);
      tally[name] ??= { verified: 0, quarantined: 0 };
      if ('kind' in out) {
        tally[name]!.quarantined++;
        (reasons[name] ??= []).push(out.reason);
        expect(out.reason.length).toBeGreaterThan(0);
        for (const v of planted) expect(out.reason.toLowerCase()).not.toContain(v);
      } else {
        tally[name]!.verified++;
      }
    }
    // Every mutation kind was exercised, and the broken ones were caught.
    expect(Object.keys(tally).sort()).toEqual(names.sort());
    expect(tally.truncate!.quarantined).toBeGreaterThan(0);
    // 500 to 2,000 nested sequences after a header cut mid-element: never read by dcmjs, always
    // quarantined as unreadable by the walk.
    expect(tally.deepNesting).toEqual({ verified: 0, quarantined: RUNS / names.length });
    expect(
      reasons.deepNesting!.every((r) => /parse: the dataset cannot be read element by element/.test(r)),
    ).toBe(true);
  });

  it('lets dcmjs print nothing while it reads broken files (its warnings can quote file bytes)', () => {
    const broken = MUTATIONS.badVr!(ctSlice().bytes, rng(7));
    const script = `
      require('ts-node').register({ transpileOnly: true });
      const { parseDicom } = require(${JSON.stringify(require.resolve('../../src/dicom/file'))});
      const bytes = Buffer.from(process.argv[1], 'base64');
      for (let i = 0; i < 50; i++) { try { parseDicom(bytes.subarray(0, bytes.length - i * 97)); } catch {} }
    `;
    const r = spawnSync(process.execPath, ['-e', script, broken.toString('base64')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toBe('');
  });
});
