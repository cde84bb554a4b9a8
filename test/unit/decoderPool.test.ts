/**
 * The decoders run in worker threads (issue 22): a frame that takes longer than its limit ends its
 * worker and fails alone with a reason; a failed decode replaces the worker (a codec left in a bad
 * state serves no one after), and the next frame decodes as it should. Files: pydicom's.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeBytes } from '../../src/pipeline/pixels';
import { Codecs } from '../../src/pixels/codecs';
import { CORPORA } from '../helpers/realWorld';

const ct = readFileSync(path.join(CORPORA.pydicom!, '693_J2KI.dcm'));
const mr = readFileSync(path.join(CORPORA.pydicom!, 'MR_small_jpeg_ls_lossless.dcm'));

describe('the decoder pool', () => {
  it('ends a frame that overruns its limit, with a reason, and decodes the next one in a new worker', async () => {
    const codecs = new Codecs({ workers: 1, frameTimeoutMs: 1 });
    try {
      expect(await decodeBytes(codecs, ct)).toMatch(/^decoding a frame took longer than 1 ms$/);
      expect(codecs.replaced).toBe(1);
    } finally {
      await codecs.close();
    }
    const patient = new Codecs({ workers: 1, frameTimeoutMs: 30_000 });
    try {
      const img = await decodeBytes(patient, ct);
      expect(typeof img === 'string' ? img : [img.rows, img.columns]).toEqual([512, 512]);
    } finally {
      await patient.close();
    }
  });

  it('replaces a worker after a failed decode, and the next frame decodes', async () => {
    const codecs = new Codecs({ workers: 1, frameTimeoutMs: 30_000 });
    try {
      // The JPEG-LS codestream with its scan data overwritten by markers: the codec fails on it.
      const broken = Buffer.from(mr);
      const scan = broken.indexOf(Buffer.from([0xff, 0xda]));
      broken.fill(0xff, scan + 20, scan + 1200);
      const failed = await decodeBytes(codecs, broken);
      expect(failed).toEqual(expect.any(String));
      expect(codecs.replaced).toBeGreaterThanOrEqual(1);
      const img = await decodeBytes(codecs, mr);
      expect(typeof img === 'string' ? img : img.rows).toBe(64);
    } finally {
      await codecs.close();
    }
  });

  it('decodes frames of several instances at once, each answer with its own frame', async () => {
    const codecs = new Codecs({ workers: 2, frameTimeoutMs: 30_000 });
    try {
      const out = await Promise.all([
        decodeBytes(codecs, ct),
        decodeBytes(codecs, mr),
        decodeBytes(codecs, ct),
      ]);
      expect(out.map((o) => (typeof o === 'string' ? o : o.rows))).toEqual([512, 64, 512]);
    } finally {
      await codecs.close();
    }
  });
});
