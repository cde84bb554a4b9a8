/**
 * Burned-in text across real servers with the default configuration: a study of generated images
 * of every kind (8/16-bit monochrome, RGB, JPEG, RLE, ultrasound with a region; both polarities)
 * and an encapsulated PDF goes from a clinical to a research Orthanc 1.10.1. Every image crosses
 * with its text masked, the document stays quarantined, the research copies read no identity text
 * under OCR, and no planted value reaches the logs, the state database or the quarantine reasons.
 */
import { closeEngines } from '../../src/pixels/clean';
import dcmjs from 'dcmjs';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDicom } from '../../src/dicom/file';
import { DEFAULT_PROFILE } from '../../src/deid/profile';
import { newProcessState } from '../../src/pipeline/context';
import { tokensOf, decodeBytes } from '../../src/pipeline/pixels';
import type { DecodedImage } from '../../src/pixels/image';
import { identifyingWords } from '../../src/pixels/text';
import { listAudit } from '../../src/store/audit';
import { openDatabase } from '../../src/store/db';
import { listQuarantine } from '../../src/store/instances';
import { IDENTITY, burnedInImage, type BurnedInImage, type BurnedKind } from '../helpers/burnedIn';
import { TestOrthanc, getJson } from '../helpers/orthanc';
import { carryStudy } from '../helpers/carry';
import { TEST_SECRET } from '../helpers/samples';
import { deriveKeys, mapUid } from '../../src/deid/keys';
import { TAG, formatTag } from '../../src/dicom/tags';
import { SOP_CLASS } from '../../src/dicom/sopClasses';
import { TRANSFER_SYNTAX } from '../../src/dicom/syntaxes';

jest.setTimeout(300_000);

const clinical = new TestOrthanc('clinical');
const research = new TestOrthanc('research');
const state = newProcessState({ workers: 2, timeoutMs: 60_000 });
const KINDS: BurnedKind[] = ['mono8', 'mono16', 'rgb', 'jpeg', 'rle', 'us'];
/** Planted text and header values, in the forms they could take in a log or a reason. */
const PLANTED = ['QUILLFEATHER', 'MARGOT', IDENTITY.id, IDENTITY.birthDate, '1961-03-14', '22/05/2024'];

function pdfDocument(): Buffer {
  const meta = {
    [TAG.FileMetaInformationVersion]: { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    [TAG.MediaStorageSOPClassUID]: { vr: 'UI', Value: [SOP_CLASS.EncapsulatedPDFStorage] },
    [TAG.MediaStorageSOPInstanceUID]: { vr: 'UI', Value: ['2.25.990001'] },
    [TAG.TransferSyntaxUID]: { vr: 'UI', Value: [TRANSFER_SYNTAX.ExplicitVRLittleEndian] },
    [TAG.ImplementationClassUID]: { vr: 'UI', Value: ['2.25.1'] },
  };
  const pdf = Buffer.from(`%PDF-1.4\n% report for ${IDENTITY.name}\n%%EOF\n`, 'latin1');
  const dd = new dcmjs.data.DicomDict(meta);
  dd.dict = {
    [TAG.SOPClassUID]: { vr: 'UI', Value: [SOP_CLASS.EncapsulatedPDFStorage] },
    [TAG.SOPInstanceUID]: { vr: 'UI', Value: ['2.25.990001'] },
    [TAG.Modality]: { vr: 'CS', Value: ['DOC'] },
    [TAG.PatientName]: { vr: 'PN', Value: [{ Alphabetic: IDENTITY.name }] },
    [TAG.PatientID]: { vr: 'LO', Value: [IDENTITY.id] },
    [TAG.StudyInstanceUID]: { vr: 'UI', Value: ['2.25.4242'] },
    [TAG.SeriesInstanceUID]: { vr: 'UI', Value: ['2.25.4244'] },
    [TAG.EncapsulatedDocument]: {
      vr: 'OB',
      Value: [pdf.buffer.slice(pdf.byteOffset, pdf.byteOffset + pdf.byteLength + (pdf.length % 2))],
    },
    [TAG.MIMETypeOfEncapsulatedDocument]: { vr: 'LO', Value: ['application/pdf'] },
  };
  return Buffer.from(dd.write());
}

async function decode(bytes: Buffer): Promise<DecodedImage> {
  const img = await decodeBytes(state.pixels.codecs, bytes);
  if (typeof img === 'string') throw new Error(img);
  return img;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

beforeAll(async () => {
  await Promise.all([clinical.start(), research.start()]);
});
afterAll(async () => {
  await Promise.all([clinical.destroy(), research.destroy(), closeEngines(state.pixels)]);
});

describe('a study with burned-in text, carried with the default configuration', () => {
  it('crosses every image masked, keeps the document back, and leaks no planted value', async () => {
    const images: BurnedInImage[] = [];
    for (const [k, kind] of KINDS.entries())
      for (const lightText of [true, false])
        images.push(await burnedInImage(kind, 200 + k * 2 + (lightText ? 0 : 1), lightText));
    const dataDir = await carryStudy(
      clinical,
      research,
      [...images.map((i) => i.bytes), pdfDocument()],
      'burnedin',
    );

    const db = openDatabase(dataDir);
    const quarantine = await listQuarantine(db, { limit: 100 });
    const audit = (await listAudit(db, { limit: 10 }))[0]!;
    const perInstance = await db.all<{ masked_regions: number | null; masked_area: number | null }>(
      "SELECT masked_regions, masked_area FROM instances WHERE state = 'pushed'",
    );
    await db.close();

    // Images carried, the document quarantined with its reason.
    expect(quarantine.map((q) => [q.check, q.reason.slice(0, 60)])).toEqual([
      ['pixel-policy', `pixel-policy: ${formatTag(TAG.SOPClassUID)} encapsulated PDF documents carry t`],
    ]);
    expect(perInstance).toHaveLength(images.length);
    expect(perInstance.every((r) => (r.masked_regions ?? 0) >= 1 && (r.masked_area ?? 0) > 0)).toBe(true);
    expect(audit.checks['clean-pixels']).toBe(images.length);
    expect(audit.checks['masked-regions']).toBe(perInstance.reduce((n, r) => n + r.masked_regions!, 0));

    // On research: BurnedInAnnotation NO, every planted string's ink masked, no identity text under OCR,
    // ultrasound regions kept.
    const tokens = tokensOf(parseDicom(images[0]!.bytes), DEFAULT_PROFILE);
    const researchIds = await getJson<string[]>(`${research.url}/instances`);
    expect(researchIds).toHaveLength(images.length);
    const keys = deriveKeys(TEST_SECRET);
    const bySop = new Map(
      images.map((img) => [
        mapUid(keys, String(parseDicom(img.bytes).dict[TAG.SOPInstanceUID]!.Value![0])),
        img,
      ]),
    );
    let inkPixels = 0;
    let inkMasked = 0;
    for (const id of researchIds) {
      const bytes = Buffer.from(await (await fetch(`${research.url}/instances/${id}/file`)).arrayBuffer());
      const file = parseDicom(bytes);
      const source = bySop.get(String(file.dict[TAG.SOPInstanceUID]!.Value![0]))!;
      expect(source).toBeDefined();
      expect(file.dict[TAG.BurnedInAnnotation]?.Value).toEqual(['NO']);
      const after = await decode(bytes);
      const { kind } = identifyingWords(await state.pixels.ocr.readFrame(after, 0), tokens);
      expect(kind).toBeUndefined();
      const before = await decode(source.bytes);
      const bytesPerPixel = after.samples * (after.bitsAllocated / 8);
      const black = (p: number) =>
        after.data.subarray(p * bytesPerPixel, (p + 1) * bytesPerPixel).every((v) => v === 0);
      for (let p = 0; p < source.ink.length; p++)
        if (source.ink[p]) {
          inkPixels++;
          if (black(p)) inkMasked++;
        }
      if (source.region) {
        // The ultrasound image itself (inside its region) is kept as it was.
        const [x0, y0, x1, y1] = source.region;
        let total = 0;
        let same = 0;
        for (let y = y0; y <= y1; y++)
          for (let x = x0; x <= x1; x++) {
            const p = y * source.columns + x;
            total++;
            const a = after.data.subarray(p * bytesPerPixel, (p + 1) * bytesPerPixel);
            const o = before.data.subarray(p * bytesPerPixel, (p + 1) * bytesPerPixel);
            if (a.every((v, i) => v === o[i])) same++;
          }
        expect(same / total).toBeGreaterThan(0.99);
      }
    }
    expect(inkPixels).toBeGreaterThan(images.length * 200);
    expect(inkMasked).toBe(inkPixels);

    // No planted value anywhere the bridge writes: logs, the state database, reasons.
    const hits: string[] = [];
    for (const f of filesUnder(dataDir)) {
      const text = readFileSync(f).toString('latin1').toUpperCase();
      for (const v of PLANTED)
        if (text.includes(v.toUpperCase())) hits.push(`${path.basename(f)}: planted value`);
    }
    for (const q of quarantine)
      for (const v of PLANTED) if (q.reason.toUpperCase().includes(v)) hits.push('a reason');
    expect(hits).toEqual([]);
  });
});
