/**
 * Untrusted pixels (issue 22), the findings mended so far, each reproduced as the review did and
 * now answered with a quarantine that names what was wrong, while the process goes on: an image too
 * large for OCR, one whose header declares more decoded bytes than the profile allows (refused
 * before anything is decoded), float pixel data in a class that carries text, and a transfer
 * syntax UID that is never quoted.
 */
import dcmjs from 'dcmjs';
import type { Dataset } from '../../src/deid/types';
import { newProcessState, type TargetContext } from '../../src/pipeline/context';
import { prepare } from '../../src/pipeline/instance';
import { closeEngines, syntaxName } from '../../src/pixels/clean';
import { burnedInImage } from '../helpers/burnedIn';
import { testContext } from '../helpers/samples';

const state = newProcessState({ workers: 1, timeoutMs: 60_000 });
const ctx = { deid: testContext(), state, maxInflatedBytes: 1 << 26 } as unknown as TargetContext;
afterAll(() => closeEngines(state.pixels));

/** A native 8-bit secondary capture (an OCR class) with the given header and pixel value. */
function otImage(
  rows: number,
  columns: number,
  extra: Dataset,
  pixels: Uint8Array,
  syntax = '1.2.840.10008.1.2.1',
): Buffer {
  const sop = '1.2.840.10008.5.1.4.1.1.7';
  const dd = new dcmjs.data.DicomDict({
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': { vr: 'UI', Value: [sop] },
    '00020003': { vr: 'UI', Value: ['2.25.6060'] },
    '00020010': { vr: 'UI', Value: [syntax] },
    '00020012': { vr: 'UI', Value: ['2.25.1'] },
  });
  dd.dict = {
    '00080016': { vr: 'UI', Value: [sop] },
    '00080018': { vr: 'UI', Value: ['2.25.6060'] },
    '00080060': { vr: 'CS', Value: ['OT'] },
    '00100010': { vr: 'PN', Value: [{ Alphabetic: 'QUILLFEATHER^MARGOT' }] },
    '00100020': { vr: 'LO', Value: ['48213957'] },
    '0020000D': { vr: 'UI', Value: ['2.25.6061'] },
    '0020000E': { vr: 'UI', Value: ['2.25.6062'] },
    '00280002': { vr: 'US', Value: [1] },
    '00280004': { vr: 'CS', Value: ['MONOCHROME2'] },
    '00280010': { vr: 'US', Value: [rows] },
    '00280011': { vr: 'US', Value: [columns] },
    '00280100': { vr: 'US', Value: [8] },
    '00280101': { vr: 'US', Value: [8] },
    '00280102': { vr: 'US', Value: [7] },
    '00280103': { vr: 'US', Value: [0] },
    '7FE00010': { vr: 'OB', Value: [pixels.buffer] },
    ...extra,
  };
  return Buffer.from(dd.write());
}

describe('pixels that could stop, exhaust or fool the bridge', () => {
  it('quarantines an image with more than 16384 columns before OCR (tesseract aborted the process on 32768), and goes on', async () => {
    const bytes = otImage(16, 32768, {}, new Uint8Array(16 * 32768).fill(30));
    const out = await prepare(bytes, ctx);
    expect(out).toMatchObject({ kind: 'quarantined', check: 'pixel-policy' });
    expect('reason' in out && out.reason).toMatch(/more than 16384 rows or columns, more than OCR reads/);
    // The process is alive and the next ordinary instance is carried.
    const ordinary = await burnedInImage('mono8', 7, true);
    expect('kind' in (await prepare(ordinary.bytes, ctx))).toBe(false);
  });

  it('refuses, before decoding, an image whose header declares more decoded bytes than ocr.maxDecodedMb', async () => {
    // 16384 x 16384 RGB: 768 MB declared, 64 bytes given. Nothing is decoded or allocated.
    const bytes = otImage(
      16384,
      16384,
      { '00280002': { vr: 'US', Value: [3] }, '00280004': { vr: 'CS', Value: ['RGB'] } },
      new Uint8Array(64),
    );
    const rss = process.memoryUsage().rss;
    const out = await prepare(bytes, ctx);
    expect(out).toMatchObject({ kind: 'quarantined', check: 'pixel-policy' });
    expect('reason' in out && out.reason).toMatch(
      /would decode to 768 MB, over the profile's ocr.maxDecodedMb \(512\)/,
    );
    expect(process.memoryUsage().rss - rss).toBeLessThan(100 * (1 << 20));
  });

  it.each([
    ['7FE00008', 'OF', 'Float Pixel Data', '(7FE0,0008)'],
    ['7FE00009', 'OD', 'Double Float Pixel Data', '(7FE0,0009)'],
  ])(
    'quarantines a secondary capture carrying %s (%s): OCR reads Pixel Data only',
    async (tag, vr, name, formatted) => {
      const floats = new Float32Array(64 * 64).fill(0.5);
      const bytes = otImage(64, 64, { [tag]: { vr, Value: [floats.buffer] } }, new Uint8Array(64 * 64));
      const out = await prepare(bytes, ctx);
      expect(out).toMatchObject({ kind: 'quarantined', check: 'pixel-policy', tag: formatted });
      expect('reason' in out && out.reason).toContain(`${name} cannot be read for burned-in text`);
    },
  );

  it('never quotes a transfer syntax UID in a reason: a known one by its keyword, any other as unknown', () => {
    expect(syntaxName('1.2.840.10008.1.2.4.94')).toBe('transfer syntax JPIPReferenced');
    // The review's case: a UID whose last component held the patient ID's digits.
    expect(syntaxName('1.2.840.10008.1.2.1.48213957')).toBe('an unknown transfer syntax');
  });
});
