/**
 * How long a review picture takes (issue 27: under 200 ms for 512 x 512): pydicom's CT head
 * (512 x 512, 16-bit, JPEG 2000) and a 256 x 256 8-bit secondary capture, decoded by the bridge's
 * codecs and drawn at 512 and 256 px with ten masks outlined; median and worst of 20 runs each.
 *
 *   npx ts-node --transpile-only scripts/bench-preview.ts
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeBytes } from '../src/pipeline/pixels';
import { Codecs } from '../src/pixels/codecs';
import { previewPng } from '../src/pixels/preview';
import { CORPORA } from '../test/helpers/realWorld';

async function main(): Promise<void> {
  const codecs = new Codecs();
  const boxes = Array.from({ length: 10 }, (_, i) => ({ x: 10 + i * 40, y: 20, width: 30, height: 12 }));
  for (const name of ['693_J2KI.dcm', 'SC_rgb_jpeg_dcmtk.dcm', 'MR_small.dcm']) {
    const bytes = readFileSync(path.join(CORPORA.pydicom!, name));
    for (const size of [512, 256]) {
      const times: number[] = [];
      let shape = '';
      for (let run = 0; run < 20; run++) {
        const t0 = performance.now();
        const img = await decodeBytes(codecs, bytes);
        if (typeof img === 'string') throw new Error(`${name}: ${img}`);
        previewPng(img, 0, boxes, size);
        times.push(performance.now() - t0);
        shape = `${img.columns}x${img.rows}, ${img.bitsAllocated}-bit, ${img.samples} sample(s)`;
      }
      times.sort((a, b) => a - b);
      console.log(
        `${name} (${shape}) at ${size} px: decode + draw + PNG median ${times[10]!.toFixed(1)} ms, worst ${times[19]!.toFixed(1)} ms`,
      );
    }
  }
  await codecs.close();
}

void main();
