/**
 * Decoding compressed pixel data, two ways, on the same files: the bridge's in-process WebAssembly
 * and JavaScript decoders (src/pixels/codecs.ts), and Orthanc's own transcoding to explicit VR
 * little endian (`POST /instances/{id}/modify` with `Transcode`, the other way issue 16 names),
 * on a clinical-like Orthanc 1.10.1 with and without Debian's orthanc-gdcm plugin. Files: pydicom's
 * test corpus (one per syntax) and generated 512 x 512 / 640 x 480 burned-in images.
 *
 *   npx ts-node --transpile-only scripts/bench-decode.ts [--rounds 20]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseDicom } from '../src/dicom/file';
import { locatePixelData } from '../src/dicom/scan';
import { Codecs } from '../src/pixels/codecs';
import { decodeInstance } from '../src/pixels/clean';
import { burnedInImage } from '../test/helpers/burnedIn';
import { TestOrthanc } from '../test/helpers/orthanc';
import { CORPORA } from '../test/helpers/realWorld';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '20' } } });
const rounds = Number(args.rounds);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const files: Array<{ label: string; bytes: Buffer }> = [];
  for (const [label, name] of [
    ['JPEG baseline RGB 256x256', 'SC_jpeg_no_color_transform.dcm'],
    ['JPEG lossless SV1 RGB 100x100', 'SC_rgb_jpeg_gdcm.dcm'],
    ['JPEG-LS 16-bit 64x64', 'MR_small_jpeg_ls_lossless.dcm'],
    ['JPEG 2000 16-bit 512x512', '693_J2KI.dcm'],
    ['RLE RGB 100x100 x2 frames', 'SC_rgb_rle_2frame.dcm'],
    ['JPEG 12-bit 1024x256', 'JPEG-lossy.dcm'],
  ] as const)
    files.push({ label, bytes: readFileSync(path.join(CORPORA.pydicom!, name)) });
  files.push({ label: 'JPEG baseline 512x512 (generated)', bytes: (await burnedInImage('jpeg', 7)).bytes });
  files.push({ label: 'RLE 512x512 (generated)', bytes: (await burnedInImage('rle', 7)).bytes });

  const codecs = new Codecs();
  const ours = new Map<string, string>();
  for (const f of files) {
    const loc = locatePixelData(f.bytes);
    const value = loc ? f.bytes.subarray(loc.start + 12, loc.end) : undefined;
    const first = await decodeInstance(codecs, parseDicom(f.bytes), value); // loads the codec
    if (typeof first === 'string') {
      ours.set(f.label, `refused (${first.slice(0, 40)}...)`);
      continue;
    }
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      await decodeInstance(codecs, parseDicom(f.bytes), value);
      times.push(performance.now() - t0);
    }
    ours.set(f.label, `${median(times).toFixed(2)} ms`);
  }

  const results = new Map<string, string[]>();
  for (const gdcm of [false, true]) {
    const orthanc = new TestOrthanc('clinical', {
      Plugins: gdcm ? ['/usr/share/orthanc/plugins/libOrthancGdcm.so'] : [],
      PythonScript: undefined,
    });
    await orthanc.start();
    try {
      for (const f of files) {
        const times: number[] = [];
        let failed: string | undefined;
        try {
          const { ID } = await orthanc.upload(f.bytes);
          const body = JSON.stringify({
            Transcode: '1.2.840.10008.1.2.1',
            Force: true,
            Keep: ['SOPInstanceUID'],
          });
          for (let r = 0; r <= rounds && !failed; r++) {
            const t0 = performance.now();
            const res = await orthanc.call('POST', `/instances/${ID}/modify`, body);
            if (res.status !== 200) failed = `fails (HTTP ${res.status})`;
            else if (r > 0) times.push(performance.now() - t0); // the first call warms up
          }
        } catch {
          // The server went away: Orthanc crashed. Started again for the next file.
          failed = `Orthanc crashed on call ${times.length + 2}`;
          await orthanc.stop().catch(() => undefined);
          await orthanc.start();
        }
        const cell = [times.length ? `${median(times).toFixed(2)} ms` : '', failed ?? '']
          .filter(Boolean)
          .join(', ');
        results.set(f.label, [...(results.get(f.label) ?? []), cell]);
      }
    } finally {
      await orthanc.destroy();
    }
  }

  console.log(`Decoding one instance, median of ${rounds} (Node ${process.version}):`);
  console.log('| file | bridge, in process | Orthanc transcode | Orthanc + orthanc-gdcm |');
  console.log('| --- | --- | --- | --- |');
  for (const f of files)
    console.log(`| ${f.label} | ${ours.get(f.label)} | ${(results.get(f.label) ?? []).join(' | ')} |`);
}

void main();
