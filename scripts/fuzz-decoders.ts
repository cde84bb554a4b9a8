/**
 * Fuzz run of the frame decoders (issue 22): `--per-codec` (default 1,000) mutated frames per codec,
 * each made from a real frame of pydicom's corpus (JPEG baseline, JPEG lossless, JPEG-LS,
 * JPEG 2000, RLE) by a seeded mutator (bit flips, byte overwrites, truncation with and without a
 * new end marker, insertions, repeated spans, zeroed spans, a header's size fields changed), and
 * decoded the way the bridge decodes an original: every frame checked from its bytes, then decoded
 * in the worker pool (2 workers, 10 s per frame).
 *
 * Meanwhile this process serves GET /healthz on 127.0.0.1, and a separate process asks it every
 * 100 ms: the slowest answer shows whether the event loop ever waited on a decoder. Also printed:
 * the event loop's longest delay (perf_hooks), the slowest decode, workers replaced, peak RSS of
 * the process (its worker threads included), and how the mutants ended, by reason. Any exception
 * that escapes a decode, or a process exit, is a failure (exit code 1).
 *
 *   npx ts-node --transpile-only scripts/fuzz-decoders.ts [--per-codec 1000] [--seed 1]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseDicom } from '../src/dicom/file';
import { locatePixelData } from '../src/dicom/scan';
import { TRANSFER_SYNTAX } from '../src/dicom/syntaxes';
import { TAG } from '../src/dicom/tags';
import { str } from '../src/dicom/values';
import { Codecs, decodeEncapsulated, FRAME_TIMEOUT_MS } from '../src/pixels/codecs';
import { framesOf } from '../src/pixels/encapsulated';
import { layoutOf, type ImageLayout } from '../src/pixels/image';
import { CORPORA } from '../test/helpers/realWorld';
import { rng } from '../test/helpers/burnedIn';
import { oneFrameValue } from '../test/helpers/encapsulated';

const { values: args } = parseArgs({
  options: { 'per-codec': { type: 'string', default: '1000' }, seed: { type: 'string', default: '1' } },
});
const PER_CODEC = Number(args['per-codec']);
const MiB = 1 << 20;

const SEEDS: Record<string, string> = {
  'JPEG baseline': 'SC_rgb_jpeg_dcmtk.dcm',
  'JPEG lossless': 'SC_rgb_jpeg_gdcm.dcm',
  'JPEG-LS': 'MR_small_jpeg_ls_lossless.dcm',
  'JPEG 2000': 'MR_small_jp2klossless.dcm',
  RLE: 'MR_small_RLE.dcm',
};

interface Seed {
  readonly codec: string;
  readonly syntax: string;
  readonly layout: ImageLayout;
  readonly frame: Uint8Array;
}

function seedOf(codec: string, name: string): Seed {
  const bytes = readFileSync(path.join(CORPORA.pydicom!, name));
  const file = parseDicom(bytes);
  const syntax = str(file.meta[TAG.TransferSyntaxUID]);
  const layout = layoutOf(file.dict);
  if (typeof layout === 'string') throw new Error(`${name}: ${layout}`);
  const loc = locatePixelData(bytes);
  if (!loc) throw new Error(`${name}: no encapsulated Pixel Data`);
  const frames = framesOf(bytes.subarray(loc.start + 12, loc.end), layout.frames, syntax);
  if (typeof frames === 'string') throw new Error(`${name}: ${frames}`);
  return { codec, syntax, layout: { ...layout, frames: 1 }, frame: new Uint8Array(frames[0]!) };
}

const EOI = [0xff, 0xd9];

/** One mutant of a frame and the name of the mutation. */
function mutate(frame: Uint8Array, syntax: string, r: () => number): { bytes: Uint8Array; how: string } {
  const n = frame.length;
  const at = () => Math.floor(r() * n);
  const out = new Uint8Array(frame);
  switch (Math.floor(r() * 8)) {
    case 0: {
      const flips = 1 + Math.floor(r() * 8);
      for (let i = 0; i < flips; i++) out[at()]! ^= 1 << Math.floor(r() * 8);
      return { bytes: out, how: 'bit flips' };
    }
    case 1: {
      const k = 1 + Math.floor(r() * 16);
      for (let i = 0; i < k; i++) out[at()] = Math.floor(r() * 256);
      return { bytes: out, how: 'bytes overwritten' };
    }
    case 2:
      return { bytes: frame.slice(0, 2 + Math.floor(r() * (n - 2))), how: 'truncated' };
    case 3: {
      // Truncated, with an end marker put back: reaches the decoder.
      const cut = frame.slice(0, 2 + Math.floor(r() * (n - 4)));
      return { bytes: new Uint8Array([...cut, ...EOI]), how: 'truncated, end marker put back' };
    }
    case 4: {
      const p = at();
      const junk = Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256));
      return {
        bytes: new Uint8Array([...frame.subarray(0, p), ...junk, ...frame.subarray(p)]),
        how: 'bytes inserted',
      };
    }
    case 5: {
      const p = at();
      const len = Math.min(n - p, 1 + Math.floor(r() * 512));
      const span = frame.subarray(p, p + len);
      const times = 1 + Math.floor(r() * 16);
      const rep = Array.from({ length: times }, () => [...span]).flat();
      return {
        bytes: new Uint8Array([...frame.subarray(0, p), ...rep, ...frame.subarray(p)]),
        how: 'span repeated',
      };
    }
    case 6: {
      const p = at();
      out.fill(0, p, Math.min(n - 2, p + 1 + Math.floor(r() * 256)));
      return { bytes: out, how: 'span zeroed' };
    }
    default: {
      // The size fields of the frame's own header, set to a random 16-bit value.
      const big = Math.floor(r() * 65536);
      if (syntax === TRANSFER_SYNTAX.JPEG2000 || syntax === TRANSFER_SYNTAX.JPEG2000Lossless) {
        const siz = 4; // SOC, then SIZ's marker: Lsiz at 6, Rsiz at 8, Xsiz at 10, Ysiz at 14
        new DataView(out.buffer).setUint32(siz + 6 + (r() < 0.5 ? 0 : 4), big);
      } else if (syntax === TRANSFER_SYNTAX.RLELossless) {
        new DataView(out.buffer).setUint32(4 * Math.floor(r() * 16), big * 1024, true);
      } else {
        for (let i = 2; i + 8 < n; i++)
          if (
            out[i] === 0xff &&
            out[i + 1]! >= 0xc0 &&
            out[i + 1]! <= 0xf7 &&
            [0xc0, 0xc1, 0xc3, 0xf7].includes(out[i + 1]!)
          ) {
            new DataView(out.buffer).setUint16(i + 5 + (r() < 0.5 ? 0 : 2), big);
            break;
          }
      }
      return { bytes: out, how: 'header size changed' };
    }
  }
}

/** A separate process asking GET /healthz every 100 ms; prints the slowest answer and the count when told to stop. */
const PROBE = `
const http = require('node:http');
let slowest = 0, answered = 0, failed = 0, stop = false;
process.on('message', () => { stop = true; });
function ask() {
  if (stop) { process.send({ slowest, answered, failed }); return; }
  const t0 = Date.now();
  const req = http.get({ host: '127.0.0.1', port: Number(process.argv[1]), path: '/healthz', timeout: 30000 }, (res) => {
    res.resume();
    res.on('end', () => { slowest = Math.max(slowest, Date.now() - t0); answered++; setTimeout(ask, 100); });
  });
  req.on('error', () => { failed++; slowest = Math.max(slowest, Date.now() - t0); setTimeout(ask, 100); });
}
ask();
`;

async function main(): Promise<void> {
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const probe = spawn(process.execPath, ['-e', PROBE, String(port)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

  const codecs = new Codecs({ workers: 2, frameTimeoutMs: FRAME_TIMEOUT_MS });
  const r = rng(Number(args.seed));
  let escaped = 0;
  const rows: string[] = [];
  const started = Date.now();
  for (const [codec, name] of Object.entries(SEEDS)) {
    const seed = seedOf(codec, name);
    // The seed itself decodes: the mutants start from a valid frame.
    const clean = await decodeEncapsulated(
      codecs,
      seed.syntax,
      oneFrameValue(seed.frame),
      seed.layout,
      20_000,
    );
    if (typeof clean === 'string') throw new Error(`${codec} seed does not decode: ${clean}`);
    const outcomes = new Map<string, number>();
    let slowest = 0;
    const t0 = Date.now();
    // Two at a time, as the pipeline's two workers take them.
    const mutants = Array.from({ length: PER_CODEC }, () => mutate(seed.frame, seed.syntax, r));
    for (let i = 0; i < mutants.length; i += 2) {
      await Promise.all(
        mutants.slice(i, i + 2).map(async ({ bytes }) => {
          const t = performance.now();
          if (process.env.FUZZ_TRACE) process.stderr.write(`${codec} ${bytes.length}\n`);
          let outcome: string;
          try {
            const out = await decodeEncapsulated(
              codecs,
              seed.syntax,
              oneFrameValue(bytes),
              seed.layout,
              20_000,
            );
            outcome = typeof out === 'string' ? out.replace(/\d+/g, 'N') : 'decoded';
          } catch (err) {
            escaped++;
            outcome = `EXCEPTION ${(err as Error).name}`;
          }
          slowest = Math.max(slowest, performance.now() - t);
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        }),
      );
    }
    rows.push(
      `${codec} (${name}, ${seed.frame.length} bytes): ${PER_CODEC} mutants in ${((Date.now() - t0) / 1000).toFixed(1)} s, slowest decode ${(slowest / 1000).toFixed(2)} s`,
    );
    for (const [o, n] of [...outcomes].sort((a, b) => b[1] - a[1]))
      rows.push(`    ${String(n).padStart(5)}  ${o}`);
  }
  clearInterval(sampler);
  loop.disable();
  const probed = await new Promise<{ slowest: number; answered: number; failed: number }>((resolve) => {
    probe.once('message', (m) => resolve(m as { slowest: number; answered: number; failed: number }));
    probe.send('stop');
  });
  probe.kill();
  server.close();
  const replaced = codecs.replaced;
  await codecs.close();
  for (const row of rows) console.log(row);
  console.log(
    `total ${((Date.now() - started) / 1000).toFixed(0)} s; workers replaced ${replaced}; exceptions escaped ${escaped}; ` +
      `peak RSS ${(peakRss / MiB).toFixed(0)} MiB; event loop longest delay ${(loop.max / 1e6).toFixed(0)} ms; ` +
      `/healthz: ${probed.answered} answers, ${probed.failed} failures, slowest ${probed.slowest} ms`,
  );
  process.exitCode = escaped > 0 || probed.failed > 0 || probed.slowest > 1000 ? 1 : 0;
}

void main();
