/**
 * How well burned-in text is masked: generated images (test/helpers/burnedIn.ts) through the
 * instance stages with the default profile, every ink pixel of every planted string checked in the
 * output, ultrasound regions compared with the original. Sets: every kind at the usual sizes, then
 * the hard cases (small, over the image, faint, turned).
 *
 *   npx ts-node --transpile-only scripts/bench-masking.ts [--seeds 40] [--hard 8]
 */
import { closeEngines } from '../src/pixels/clean';
import { parseArgs } from 'node:util';
import { decodeBytes } from '../src/pipeline/pixels';
import { newProcessState } from '../src/pipeline/context';
import { prepare } from '../src/pipeline/instance';
import type { DecodedImage } from '../src/pixels/image';
import { burnedInImage, plantedStrings, type BurnedKind, type TextStyle } from '../test/helpers/burnedIn';
import { stageContext } from '../test/helpers/samples';

const { values: args } = parseArgs({
  options: { seeds: { type: 'string', default: '40' }, hard: { type: 'string', default: '8' } },
});
const state = newProcessState({ workers: 2, timeoutMs: 60_000 });
const ctx = stageContext(state);

async function decode(bytes: Buffer): Promise<DecodedImage> {
  const img = await decodeBytes(state.pixels.codecs, bytes);
  if (typeof img === 'string') throw new Error(img);
  return img;
}

interface Tally {
  images: number;
  carried: number;
  strings: number;
  stringsMasked: number;
  stringsMostlyLeft: number;
  regionPixels: number;
  regionKept: number;
  /** Why the others were quarantined (reasons name checks and shares, never values). */
  reasons: Map<string, number>;
}

async function measure(
  set: Array<{ kind: BurnedKind; seed: number; light: boolean; style?: TextStyle }>,
): Promise<Tally> {
  const t: Tally = {
    images: 0,
    carried: 0,
    strings: 0,
    stringsMasked: 0,
    stringsMostlyLeft: 0,
    regionPixels: 0,
    regionKept: 0,
    reasons: new Map(),
  };
  for (const { kind, seed, light, style } of set) {
    const img = await burnedInImage(kind, seed, light, style);
    t.images++;
    const out = await prepare(img.bytes, ctx);
    if ('kind' in out) {
      const why = out.reason.replace(/\d+(\.\d+)?%/g, 'N%').replace(/frame \d+/g, 'frame N');
      t.reasons.set(why, (t.reasons.get(why) ?? 0) + 1);
      continue;
    }
    t.carried++;
    const after = await decode(Buffer.concat(out.parts));
    const before = await decode(img.bytes);
    const bpp = after.samples * (after.bitsAllocated / 8);
    const ink = new Map<number, { total: number; left: number }>();
    for (let p = 0; p < img.ink.length; p++) {
      const n = img.ink[p]!;
      if (!n) continue;
      const s = ink.get(n) ?? { total: 0, left: 0 };
      s.total++;
      if (!after.data.subarray(p * bpp, (p + 1) * bpp).every((v) => v === 0)) s.left++;
      ink.set(n, s);
    }
    for (const s of ink.values()) {
      t.strings++;
      if (s.left === 0) t.stringsMasked++;
      else if (s.left > s.total / 2) t.stringsMostlyLeft++;
    }
    if (img.region) {
      const [x0, y0, x1, y1] = img.region;
      for (let y = y0; y <= y1; y++)
        for (let x = x0; x <= x1; x++) {
          const p = (y * img.columns + x) * bpp;
          t.regionPixels++;
          if (after.data.subarray(p, p + bpp).every((v, i) => v === before.data[p + i])) t.regionKept++;
        }
    }
  }
  return t;
}

function line(label: string, t: Tally, seconds: number): string {
  const region = t.regionPixels
    ? `, ultrasound regions kept ${((100 * t.regionKept) / t.regionPixels).toFixed(2)}%`
    : '';
  return (
    `  ${label}: ${t.images} images, ${t.carried} carried; ${t.strings} planted strings carried, ` +
    `${t.stringsMasked} with all their ink masked, ${t.stringsMostlyLeft} with more than half left${region} (${seconds.toFixed(0)} s)` +
    [...t.reasons].map(([why, n]) => `\n    quarantined ${n} x ${why.slice(0, 160)}`).join('')
  );
}

async function main(): Promise<void> {
  console.log(
    `Masking of generated burned-in text (${plantedStrings().length} strings an image), default profile:`,
  );
  const seeds = Number(args.seeds);
  const kinds: BurnedKind[] = ['mono8', 'mono16', 'rgb', 'jpeg', 'rle', 'us'];
  let t0 = performance.now();
  const all = kinds.flatMap((kind) =>
    Array.from({ length: seeds }, (_, i) => ({ kind, seed: 1000 + i, light: i % 2 === 0 })),
  );
  console.log(line(`every kind, ${seeds} seeds each`, await measure(all), (performance.now() - t0) / 1000));
  const hard = Number(args.hard);
  for (const [label, style] of [
    ['text 7-9 px high', { sizes: [7, 9] }],
    ['text over the image', { overImage: true }],
    ['faint text (40 grey levels)', { contrast: 40 }],
    ['faint text (20 grey levels)', { contrast: 20 }],
    ['text turned 10 degrees', { rotate: 10 }],
    ['text turned 30 degrees', { rotate: 30 }],
  ] as const) {
    t0 = performance.now();
    const set = Array.from({ length: hard }, (_, i) => ({
      kind: (i % 2 ? 'mono8' : 'rgb') as BurnedKind,
      seed: 3000 + i,
      light: i % 4 < 2,
      style: style as TextStyle,
    }));
    console.log(line(label, await measure(set), (performance.now() - t0) / 1000));
  }
  await closeEngines(state.pixels);
}

void main();
