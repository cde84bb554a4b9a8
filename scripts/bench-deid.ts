/**
 * Engine benchmark: MB/s of the de-identification engine against a bare dcmjs read + write of
 * the same files, in one run. The files: sample CT and mammography studies (realistic sizes) and
 * the generated corpus (every charset and transfer syntax). Each measurement takes the best of
 * `--rounds` passes over all files, after a warm-up pass.
 *
 *   npm run bench:deid -- [--rounds 5] [--ct-slices 40] [--mammo-rows 2294] [--mammo-columns 1914]
 *                          [--threads 1,2]
 *
 * With --threads, the instance stages run through the bridge's worker pools of each size, and the
 * speed-up from the first size to each other is printed: the header stages (parse, de-identify,
 * write, gate) in the de-identification workers, and the OCR stages in the OCR workers.
 */
import { ByteBudget } from '../src/util/budget';
import { closeEngines } from '../src/pixels/clean';
import { parseArgs } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import dcmjs from 'dcmjs';
import { parseDicom, writeDicom } from '../src/dicom/file';
import { deidentify } from '../src/deid/engine';
import { deriveKeys } from '../src/deid/keys';
import { DEFAULT_PROFILE } from '../src/deid/profile';
import { splitAtPixelData } from '../src/pipeline/instance';
import { corpus } from '../test/fixtures/corpus';
import { makeCtStudy, makeMammoStudy, samplePatients } from '../test/fixtures/studies';
import { verifyInstance } from '../src/verify/instance';
import { stageContext } from '../test/helpers/samples';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'ct-slices': { type: 'string', default: '40' },
    'mammo-rows': { type: 'string', default: '2294' },
    'mammo-columns': { type: 'string', default: '1914' },
    /** Worker threads to compare, e.g. "1,2": the instance stages through the pools of that size. */
    threads: { type: 'string', default: '' },
  },
});

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

const patient = samplePatients(1)[0]!;
const sampleFiles: Buffer[] = [
  ...makeCtStudy(patient, {
    studyIndex: 1,
    studyDate: '20240115',
    slices: Number(args['ct-slices']),
    size: 512,
  }).map((i) => i.bytes),
  ...makeMammoStudy(patient, {
    studyIndex: 2,
    studyDate: '20240301',
    mammoRows: Number(args['mammo-rows']),
    mammoColumns: Number(args['mammo-columns']),
  }).map((i) => i.bytes),
];
let files: Buffer[] = [...sampleFiles, ...corpus().map((f) => f.bytes)];
// dcmjs alone cannot read some corpus files (multi-valued ISO 2022 character sets): both sides
// are measured on the files it can read, and the others are counted.
const readable = (f: Buffer): boolean => {
  try {
    dcmjs.data.DicomMessage.readFile(toArrayBuffer(f));
    return true;
  } catch {
    return false;
  }
};
const unreadable = files.filter((f) => !readable(f)).length;
files = files.filter(readable);
const totalBytes = files.reduce((n, f) => n + f.length, 0);
const ctx = { profile: DEFAULT_PROFILE, keys: deriveKeys('benchmark-secret-0123456789abcdef') };

const passes: Record<string, (f: Buffer) => number> = {
  'dcmjs read + write': (f) => {
    const dict = dcmjs.data.DicomMessage.readFile(toArrayBuffer(f));
    return dict.write().byteLength;
  },
  'engine (parse, de-identify, write; pixel data spliced)': (f) => {
    const { head, pixel } = splitAtPixelData(f);
    const out = writeDicom(deidentify(parseDicom(head), ctx).file);
    return out.length + (pixel?.length ?? 0);
  },
  'engine + gate (as the bridge runs it)': (f) => {
    const { head, pixel } = splitAtPixelData(f);
    const source = parseDicom(head);
    const result = deidentify(source, ctx);
    const out = writeDicom(result.file);
    const verdict = verifyInstance(source, parseDicom(out), ctx, result.patient);
    if (!verdict.ok) throw new Error('the gate refused a benchmark file');
    return out.length + (pixel?.length ?? 0);
  },
};

/** Best time of one pass over `set`; a pass repeats the set `reps` times so small sets are timed over long enough. */
function best(fn: (f: Buffer) => number, rounds: number, set: readonly Buffer[] = files, reps = 1): number {
  for (const f of set) fn(f); // warm-up
  let bestMs = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let k = 0; k < reps; k++) for (const f of set) fn(f);
    bestMs = Math.min(bestMs, (performance.now() - t0) / reps);
  }
  return bestMs;
}

const rounds = Number(args.rounds);
console.log(
  `bench:deid: ${files.length} files, ${(totalBytes / 1e6).toFixed(1)} MB, best of ${rounds} rounds, Node ${process.version}` +
    ` (${unreadable} corpus files left out: bare dcmjs cannot read them, the engine can)`,
);
const results: Record<string, number> = {};
for (const [name, fn] of Object.entries(passes)) {
  const ms = best(fn, rounds);
  results[name] = ms;
  console.log(
    `  ${name.padEnd(58)} ${(ms / 1000).toFixed(3)} s  ${(totalBytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`,
  );
}
const bare = results['dcmjs read + write']!;
const engine = results['engine (parse, de-identify, write; pixel data spliced)']!;
const gated = results['engine + gate (as the bridge runs it)']!;
console.log(`  engine speed / dcmjs round trip: ${(bare / engine).toFixed(2)}x (target >= 0.80x)`);
console.log(`  engine + gate speed / dcmjs round trip: ${(bare / gated).toFixed(2)}x`);

// The same ratio on each half: large images (pixel data dominates) and the small corpus files
// (headers dominate, so per-file costs show).
const small = files.filter((f) => !sampleFiles.includes(f));
for (const [label, set, reps] of [
  ['sample images', sampleFiles, 1],
  ['corpus files', small, 50],
] as const) {
  const mb = set.reduce((n, f) => n + f.length, 0) / 1e6;
  const b = best(passes['dcmjs read + write']!, rounds, set, reps);
  const e = best(passes['engine (parse, de-identify, write; pixel data spliced)']!, rounds, set, reps);
  console.log(
    `  ${label}: ${set.length} files, ${mb.toFixed(2)} MB: dcmjs ${(mb / (b / 1000)).toFixed(1)} MB/s, engine ${(mb / (e / 1000)).toFixed(1)} MB/s, ratio ${(b / e).toFixed(2)}x`,
  );
}

/**
 * Burned-in text (issue 16): OCR images per second for a 512x512 secondary capture and a 640x480
 * ultrasound, the raw OCR rate (one recognition of one polarity), and the whole instance stages
 * (decode, OCR both polarities, mask, de-identify, gate with its second OCR pass) per image, with
 * the pool the bridge uses on this machine (ocrWorkers of the default concurrency 4).
 */
async function ocrBench(): Promise<void> {
  const { newProcessState, ocrWorkers } = await import('../src/pipeline/context');
  const { prepare } = await import('../src/pipeline/instance');
  const { decodeInstance } = await import('../src/pixels/clean');
  const { burnedInImage } = await import('../test/helpers/burnedIn');
  const workers = ocrWorkers(4);
  const state = newProcessState({ workers, timeoutMs: 60_000 });
  const stageCtx = stageContext(state, ctx);
  const images = Math.max(4, Number(args.rounds) * 2);
  console.log(`\nOCR of burned-in text (tesseract.js, ${workers} worker threads, ${images} images each):`);
  try {
    for (const [label, kind, reads] of [
      ['512x512 secondary capture', 'mono8', 'all'],
      ['640x480 ultrasound with speckle (outside the region masked, OCR inside)', 'us', 'plain'],
    ] as const) {
      const set = await Promise.all(Array.from({ length: images }, (_, i) => burnedInImage(kind, 100 + i)));
      const decoded = await Promise.all(
        set.map(async (s) => {
          const img = await decodeInstance(state.pixels.codecs, parseDicom(s.bytes));
          if (typeof img === 'string') throw new Error(img);
          return img;
        }),
      );
      await state.pixels.ocr.readFrame(decoded[0]!, 0, undefined, 'first', reads); // start the workers
      let t0 = performance.now();
      await Promise.all(decoded.map((img) => state.pixels.ocr.readFrame(img, 0, undefined, 'first', reads)));
      const ocrMs = performance.now() - t0;
      t0 = performance.now();
      // How long the event loop (the feed, the API) waits at worst while the stages run.
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const outcomes = await Promise.all(set.map((s) => prepare(s.bytes, stageCtx)));
      delay.disable();
      const stagesMs = performance.now() - t0;
      const quarantined = outcomes.filter((o) => 'kind' in o).length;
      console.log(
        `  ${label}: OCR (${reads === 'all' ? 'the frame and its light and dark features at 2x' : 'the frame at 1x'}) ${((images * 1000) / ocrMs).toFixed(2)} images/s; ` +
          `instance stages (decode, OCR, mask, de-identify, gate with its own OCR) ${((images * 1000) / stagesMs).toFixed(2)} images/s, ` +
          `${(stagesMs / images).toFixed(0)} ms per image; quarantined ${quarantined}/${images}; ` +
          `event loop delay max ${(delay.max / 1e6).toFixed(0)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms`,
      );
    }
  } finally {
    await closeEngines(state.pixels);
  }
}

/**
 * The instance stages on several cores (issue 26): the same work through pools of each size in
 * --threads. Headers: every file's header, and a real enhanced MR header (nibabel's, 350 KB of
 * functional groups: the CPU-heavy kind the bridge sends to its workers), through DeidPool; OCR: the
 * whole instance stages of 512x512 secondary captures with burned-in text (prepare(), its OCR in
 * the pool of that size). Best of --rounds, after a warm-up pass that starts the workers.
 */
async function threadsBench(sizes: number[]): Promise<void> {
  const { DeidPool } = await import('../src/pipeline/deidPool');
  const { newProcessState } = await import('../src/pipeline/context');
  const { prepare } = await import('../src/pipeline/instance');
  const { burnedInImage } = await import('../test/helpers/burnedIn');
  const rounds = Number(args.rounds);
  const heads = files.map((f) => splitAtPixelData(f).head);
  // A real enhanced MR header (nibabel's Philips MPRAGE: 176 frames, 2 KB of functional groups
  // each, 350 KB), eight times; its pixel data is left out as the bridge splices it.
  const mprage = '/usr/lib/python3/dist-packages/nibabel/nicom/tests/data/philips_mprage.dcm.gz';
  if (!existsSync(mprage)) throw new Error(`${mprage} is missing (Debian python3-nibabel)`);
  const heavy = Array.from({ length: 8 }, () => splitAtPixelData(gunzipSync(readFileSync(mprage))).head);
  const images = Math.max(8, rounds * 2);
  const ocrSet = await Promise.all(Array.from({ length: images }, (_, i) => burnedInImage('mono8', 200 + i)));
  const rows: Array<{ n: number; headers: number; heavy: number; ocr: number }> = [];
  for (const n of sizes) {
    const pool = new DeidPool({ workers: n, timeoutMs: 600_000 });
    const through = async (set: Buffer[]) => {
      const answers = await Promise.all(set.map((h) => pool.run(h, ctx, 1 << 26)));
      const failed = answers.filter((a) => 'error' in a || a.failures.length > 0).length;
      if (failed > 0) throw new Error(`${failed} header(s) failed in the workers`);
    };
    const bestOf = async (set: Buffer[]) => {
      await through(set); // warm-up: starts the workers, sends the context
      let best = Infinity;
      for (let r = 0; r < rounds; r++) {
        const t0 = performance.now();
        await through(set);
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    };
    const headersMs = await bestOf(heads);
    const heavyMs = await bestOf(heavy);
    await pool.close();
    const state = newProcessState({ workers: n, timeoutMs: 120_000 });
    const stageCtx = { ...stageContext(state, ctx), budget: new ByteBudget(1 << 30) };
    let ocrMs = Infinity;
    try {
      await prepare(ocrSet[0]!.bytes, stageCtx);
      for (let r = 0; r < Math.min(rounds, 2); r++) {
        const t0 = performance.now();
        await Promise.all(ocrSet.map((s) => prepare(s.bytes, stageCtx)));
        ocrMs = Math.min(ocrMs, performance.now() - t0);
      }
    } finally {
      await closeEngines(state.pixels);
      await state.deid?.close();
    }
    rows.push({ n, headers: headersMs, heavy: heavyMs, ocr: ocrMs });
  }
  const headerMb = heads.reduce((m, h) => m + h.length, 0) / 1e6;
  const heavyMb = heavy.reduce((m, h) => m + h.length, 0) / 1e6;
  console.log(`\nInstance stages on ${sizes.join(', ')} worker thread(s) (best of ${rounds}):`);
  for (const r of rows) {
    console.log(
      `  ${r.n} thread(s): headers ${heads.length} files ${headerMb.toFixed(2)} MB ${(r.headers / 1000).toFixed(3)} s (${(heads.length / (r.headers / 1000)).toFixed(0)} files/s); ` +
        `enhanced MR headers ${heavy.length} x ${(heavyMb / heavy.length).toFixed(2)} MB ${(r.heavy / 1000).toFixed(3)} s; ` +
        `OCR instance stages ${images} images ${(r.ocr / 1000).toFixed(2)} s (${((images * 1000) / r.ocr).toFixed(2)} images/s)`,
    );
  }
  const first = rows[0]!;
  for (const r of rows.slice(1))
    console.log(
      `  speed-up ${first.n} -> ${r.n} threads: headers ${(first.headers / r.headers).toFixed(2)}x, enhanced MR headers ${(first.heavy / r.heavy).toFixed(2)}x, OCR instance stages ${(first.ocr / r.ocr).toFixed(2)}x (target >= 1.7x at 2)`,
    );
}

void (async () => {
  await ocrBench();
  const sizes = String(args.threads)
    .split(',')
    .map((v) => Number.parseInt(v, 10))
    .filter((v) => v > 0);
  if (sizes.length > 0) await threadsBench(sizes);
})();
