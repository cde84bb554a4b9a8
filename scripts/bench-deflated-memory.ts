/**
 * Peak memory of one deflated dataset (issue 22): a CT slice whose Deflated Explicit VR Little
 * Endian dataset inflates to `--mib` MiB (default 128; 8192 x 8192 16-bit samples) from a few
 * hundred KiB, through the instance stages (de-identify and the gate) in a fresh process. Prints
 * that process's peak RSS (VmHWM), its RSS before the file was read, and the project's bound:
 * twice the largest instance plus 200 MB.
 *
 *   npx ts-node --transpile-only scripts/bench-deflated-memory.ts [--mib 128]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import dcmjs from 'dcmjs';
import type { TargetContext } from '../src/pipeline/context';
import { prepare } from '../src/pipeline/instance';
import { ByteBudget } from '../src/util/budget';
import { testContext } from '../test/helpers/samples';

const MiB = 1 << 20;
const { values: args } = parseArgs({
  options: { mib: { type: 'string', default: '128' }, measure: { type: 'string' } },
});

/** The process's peak resident set (VmHWM), in MiB. */
function peakMib(): number {
  const line = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  return line ? Number(line[1]) / 1024 : NaN;
}

/** A deflated CT slice of `mib` MiB of 16-bit samples (a square frame). */
function deflatedFile(mib: number): Buffer {
  const side = Math.floor(Math.sqrt((mib * MiB) / 2));
  const dd = new dcmjs.data.DicomDict({
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] },
    '00020003': { vr: 'UI', Value: ['2.25.77'] },
    '00020010': { vr: 'UI', Value: ['1.2.840.10008.1.2.1.99'] },
  });
  dd.dict = {
    '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] },
    '00080018': { vr: 'UI', Value: ['2.25.77'] },
    '00080060': { vr: 'CS', Value: ['CT'] },
    '00100010': { vr: 'PN', Value: [{ Alphabetic: 'DEFLATE^BENCH' }] },
    '0020000D': { vr: 'UI', Value: ['2.25.78'] },
    '0020000E': { vr: 'UI', Value: ['2.25.79'] },
    '00280002': { vr: 'US', Value: [1] },
    '00280004': { vr: 'CS', Value: ['MONOCHROME2'] },
    '00280010': { vr: 'US', Value: [side] },
    '00280011': { vr: 'US', Value: [side] },
    '00280100': { vr: 'US', Value: [16] },
    '00280101': { vr: 'US', Value: [12] },
    '00280102': { vr: 'US', Value: [11] },
    '00280103': { vr: 'US', Value: [0] },
    '7FE00010': { vr: 'OW', Value: [new Uint16Array(side * side).fill(1000).buffer] },
  };
  // dcmjs writes a deflated syntax's dataset uncompressed (see dicom/file.ts writeDicom): deflated here.
  const written = Buffer.from(dd.write());
  const metaEnd = 132 + 12 + written.readUInt32LE(140);
  return Buffer.concat([written.subarray(0, metaEnd), deflateRawSync(written.subarray(metaEnd))]);
}

async function measure(file: string): Promise<void> {
  const before = process.memoryUsage().rss / MiB;
  const bytes = readFileSync(file);
  const ctx = {
    deid: testContext(),
    maxInflatedBytes: 256 * MiB,
    budget: new ByteBudget(1024 * MiB),
  } as unknown as TargetContext;
  const t0 = performance.now();
  const out = await prepare(bytes, ctx);
  const ms = performance.now() - t0;
  const sent = 'kind' in out ? 0 : out.parts.reduce((n, p) => n + p.length, 0);
  process.stdout.write(
    JSON.stringify({
      outcome: 'kind' in out ? `quarantined (${out.check})` : 'prepared',
      sentMib: sent / MiB,
      beforeMib: before,
      peakMib: peakMib(),
      seconds: ms / 1000,
    }),
  );
}

async function main(): Promise<void> {
  if (args.measure) return measure(args.measure);
  const mib = Number(args.mib);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-deflated-'));
  try {
    const file = path.join(dir, 'deflated.dcm');
    const bytes = deflatedFile(mib);
    writeFileSync(file, bytes);
    const run = spawnSync(
      process.execPath,
      ['--max-semi-space-size=2', '-r', 'ts-node/register/transpile-only', __filename, '--measure', file],
      { encoding: 'utf8', timeout: 300_000 },
    );
    if (run.status !== 0) throw new Error(run.stderr);
    const r = JSON.parse(run.stdout) as {
      outcome: string;
      sentMib: number;
      beforeMib: number;
      peakMib: number;
      seconds: number;
    };
    const bound = 2 * mib + 200;
    console.log(`deflated dataset: ${(bytes.length / 1024).toFixed(0)} KiB on the wire, ${mib} MiB inflated`);
    console.log(`  outcome ${r.outcome}, ${r.sentMib.toFixed(1)} MiB sent, ${r.seconds.toFixed(2)} s`);
    console.log(
      `  RSS before the file: ${r.beforeMib.toFixed(0)} MiB; peak (VmHWM): ${r.peakMib.toFixed(0)} MiB; bound 2 x ${mib} + 200 = ${bound} MiB: ${r.peakMib <= bound ? 'within' : 'OVER'}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
