/**
 * Masking on REAL anatomy (issue 21): frames of pydicom's CT, MR, NM and ultrasound files with a
 * name, an ID and dates planted in corners, on labels and over the image (test/helpers/realAnatomy.ts),
 * through the instance stages with the default profile. Per image: every ink pixel masked? and the
 * share of pixels outside the planted text left exactly as they were. Prints the median and the
 * worst image, and what was quarantined and why (reasons name checks, never values).
 *
 *   npx ts-node --transpile-only scripts/bench-masking-anatomy.ts [--seeds 1] [--only CT] [--label TEXT] [--verbose]
 */
import { closeEngines } from '../src/pixels/clean';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { newProcessState } from '../src/pipeline/context';
import { prepare } from '../src/pipeline/instance';
import { decodeBytes } from '../src/pipeline/pixels';
import type { DecodedImage } from '../src/pixels/image';
import { anatomyImage, anatomyVariants, keptAndRemoved } from '../test/helpers/realAnatomy';
import { isOrdinaryImage, realWorldFiles } from '../test/helpers/realWorld';
import { stageContext } from '../test/helpers/samples';

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1' },
    'real-only': { type: 'boolean', default: false },
    only: { type: 'string' },
    label: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
const state = newProcessState({ workers: 2, timeoutMs: 120_000 });
const ctx = stageContext(state);

async function decode(bytes: Buffer): Promise<DecodedImage> {
  const img = await decodeBytes(state.pixels.codecs, bytes);
  if (typeof img === 'string') throw new Error(img);
  return img;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

/**
 * pydicom's own files of the classes masking covers (secondary capture, ultrasound, OT): what
 * happened to each, and the share of its pixels changed. Names are public test-file names.
 */
async function realFiles(): Promise<void> {
  const risky = realWorldFiles().filter((f) => f.pixels && !isOrdinaryImage(f));
  console.log(`pydicom and nibabel files masking covers (${risky.length}):`);
  for (const f of risky) {
    const bytes = readFileSync(f.path);
    const out = await prepare(bytes, ctx);
    if ('kind' in out) {
      console.log(`  ${f.corpus}/${f.name}: quarantined: ${out.reason.slice(0, 140)}`);
      continue;
    }
    const before = await decodeBytes(state.pixels.codecs, bytes);
    const after = await decodeBytes(state.pixels.codecs, Buffer.concat(out.parts));
    let changed = 0;
    let total = 0;
    if (typeof before !== 'string' && typeof after !== 'string' && before.data.length === after.data.length) {
      const bpp = before.samples * (before.bitsAllocated / 8);
      total = before.data.length / bpp;
      for (let p = 0; p < total; p++)
        for (let b = 0; b < bpp; b++)
          if (before.data[p * bpp + b] !== after.data[p * bpp + b]) {
            changed++;
            break;
          }
    }
    const masked = out.masked ? `, ${out.masked.regions} regions masked` : ', pixels unchanged';
    const kept = total ? `, ${pct(1 - changed / total)} of pixels kept` : '';
    console.log(`  ${f.corpus}/${f.name}: carried${masked}${kept}`);
  }
}

async function main(): Promise<void> {
  if (args['real-only']) {
    await realFiles();
    await closeEngines(state.pixels);
    return;
  }
  const variants = anatomyVariants(Number(args.seeds)).filter(
    (v) => !args.only || v.background.kind === args.only,
  );
  const wanted = (label: string): boolean => !args.label || label.includes(args.label);
  const kept: number[] = [];
  const reasons = new Map<string, number>();
  let inkComplete = 0;
  let inkPixels = 0;
  let inkLeft = 0;
  let tracedPixels = 0;
  let tracedLeft = 0;
  let tracedComplete = 0;
  let tracedMostLeft = 0;
  let fringePixels = 0;
  let fringeLeft = 0;
  let visiblePixels = 0;
  let visibleLeft = 0;
  let visibleComplete = 0;
  let worst = { kept: 1, label: '' };
  let maxTextShare = 0;
  const t0 = performance.now();
  let ran = 0;
  for (const v of variants) {
    const img = await anatomyImage(v);
    if (!wanted(img.label)) continue;
    ran++;
    const out = await prepare(img.bytes, ctx);
    if ('kind' in out) {
      const r = out.reason.replace(/\d+(\.\d+)?%/g, 'N%').replace(/frame \d+/g, 'frame N');
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
      if (args.verbose) console.log(`  quarantined: ${img.label}: ${out.reason}`);
      continue;
    }
    const r = keptAndRemoved(img, await decode(img.bytes), await decode(Buffer.concat(out.parts)), {
      plain: await decode(img.plain),
      boxes: out.masked?.boxes ?? [],
    });
    const share = r.kept / r.outside;
    kept.push(share);
    maxTextShare = Math.max(maxTextShare, out.masked?.share ?? 0);
    inkPixels += r.inkPixels;
    inkLeft += r.inkLeft;
    fringePixels += r.fringePixels;
    visiblePixels += r.visiblePixels;
    visibleLeft += r.visibleLeft;
    if (r.visibleLeft === 0) visibleComplete++;
    fringeLeft += r.fringeLeft;
    if (r.inkLeft === 0) inkComplete++;
    tracedPixels += r.tracedPixels;
    tracedLeft += r.tracedLeft;
    if (r.tracedLeft === 0) tracedComplete++;
    tracedMostLeft = Math.max(tracedMostLeft, r.tracedLeftChange);
    if (share < worst.kept) worst = { kept: share, label: img.label };
    if (args.verbose)
      console.log(
        `  ${img.label}: ink left ${r.inkLeft}/${r.inkPixels} (traced ${r.tracedLeft}/${r.tracedPixels}${r.tracedLeft ? ` by up to ${r.tracedLeftChange} levels` : ''}, visible ${r.visibleLeft}/${r.visiblePixels}), fringe left ${r.fringeLeft}/${r.fringePixels}, kept outside the text ${pct(share)}`,
      );
  }
  const sorted = [...kept].sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : NaN;
  console.log(
    `Masking on real anatomy, default profile, ${ran} images (${((performance.now() - t0) / 1000).toFixed(0)} s):`,
  );
  console.log(
    `  carried: ${kept.length}; every ink pixel masked: ${inkComplete} of ${kept.length}; ink pixels (text coverage 25% or more) left: ${inkLeft} of ${inkPixels}; fringe pixels left: ${fringeLeft} of ${fringePixels}`,
  );
  console.log(
    `  every traced ink pixel (ink the stored image holds: its decoding differs from the image's without the text) masked: ${tracedComplete} of ${kept.length}; left: ${tracedLeft} of ${tracedPixels}, the most one of them differs from the image without the text: ${tracedMostLeft} levels`,
  );
  console.log(
    `  every visible ink pixel (standing out from its ground by 1/8 of the range) masked: ${visibleComplete} of ${kept.length}; left: ${visibleLeft} of ${visiblePixels}`,
  );
  console.log(
    `  pixels outside the planted text kept exactly: median ${pct(median)}, worst ${pct(worst.kept)} (${worst.label})`,
  );
  console.log(
    `  carried images keeping under 97%: ${kept.filter((k) => k < 0.97).length}; under 50%: ${kept.filter((k) => k < 0.5).length}`,
  );
  console.log(`  largest share of a frame that text masks cover: ${pct(maxTextShare)}`);
  console.log(`  quarantined: ${ran - kept.length}`);
  for (const [r, n] of reasons) console.log(`    ${n} x ${r}`);
  await realFiles();
  await closeEngines(state.pixels);
}

void main();
