/**
 * Mask the text, keep the image (issue 21), across real servers with the default configuration:
 * real anatomy from pydicom's CT, MR, NM and ultrasound files with a name, an ID and dates burned
 * in (corners, labels, over the image; lossless and JPEG) goes from a clinical to a research
 * Orthanc 1.10.1. Per image, on what research holds: every visible ink pixel of the planted text masked,
 * and at least 97% of the pixels outside the text exactly the original's. A page that is mostly
 * text, which masking would blank, stays quarantined with the kept-pixels reason.
 */
import { createCanvas } from '@napi-rs/canvas';
import dcmjs from 'dcmjs';
import { parseDicom } from '../../src/dicom/file';
import { deriveKeys, mapUid } from '../../src/deid/keys';
import { newProcessState } from '../../src/pipeline/context';
import { decodeBytes } from '../../src/pipeline/pixels';
import { closeEngines } from '../../src/pixels/clean';
import type { DecodedImage } from '../../src/pixels/image';
import { openDatabase } from '../../src/store/db';
import { listQuarantine } from '../../src/store/instances';
import { IDENTITY } from '../helpers/burnedIn';
import { TestOrthanc, getJson } from '../helpers/orthanc';
import { anatomyImage, anatomyVariants, keptAndRemoved, type AnatomyImage } from '../helpers/realAnatomy';
import { carryStudy } from '../helpers/carry';
import { TEST_SECRET } from '../helpers/samples';
import { TAG } from '../../src/dicom/tags';
import { SOP_CLASS } from '../../src/dicom/sopClasses';
import { TRANSFER_SYNTAX } from '../../src/dicom/syntaxes';

jest.setTimeout(600_000);

const clinical = new TestOrthanc('clinical');
const research = new TestOrthanc('research');
const state = newProcessState({ workers: 2, timeoutMs: 60_000 });

async function decode(bytes: Buffer): Promise<DecodedImage> {
  const img = await decodeBytes(state.pixels.codecs, bytes);
  if (typeof img === 'string') throw new Error(img);
  return img;
}

/** A 256x256 secondary capture that is a page of ordinary text: masking it would blank most of it. */
function textPage(): Buffer {
  const canvas = createCanvas(256, 256);
  const g = canvas.getContext('2d');
  g.fillStyle = '#000';
  g.fillRect(0, 0, 256, 256);
  g.fillStyle = '#fff';
  g.font = '13px "DejaVu Sans"';
  for (let line = 0; line < 14; line++)
    g.fillText(`Findings line ${line + 1}: within normal limits`, 6, 16 + line * 17);
  const rgba = g.getImageData(0, 0, 256, 256).data;
  const grey = new Uint8Array(256 * 256);
  for (let p = 0; p < grey.length; p++) grey[p] = rgba[p * 4]!;
  const sop = SOP_CLASS.SecondaryCaptureImageStorage;
  const uid = '2.25.8181818';
  const dd = new dcmjs.data.DicomDict({
    [TAG.FileMetaInformationVersion]: { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    [TAG.MediaStorageSOPClassUID]: { vr: 'UI', Value: [sop] },
    [TAG.MediaStorageSOPInstanceUID]: { vr: 'UI', Value: [uid] },
    [TAG.TransferSyntaxUID]: { vr: 'UI', Value: [TRANSFER_SYNTAX.ExplicitVRLittleEndian] },
    [TAG.ImplementationClassUID]: { vr: 'UI', Value: ['2.25.1'] },
  });
  dd.dict = {
    [TAG.SOPClassUID]: { vr: 'UI', Value: [sop] },
    [TAG.SOPInstanceUID]: { vr: 'UI', Value: [uid] },
    [TAG.Modality]: { vr: 'CS', Value: ['OT'] },
    [TAG.PatientName]: { vr: 'PN', Value: [{ Alphabetic: IDENTITY.name }] },
    [TAG.PatientID]: { vr: 'LO', Value: [IDENTITY.id] },
    [TAG.StudyInstanceUID]: { vr: 'UI', Value: ['2.25.5151'] },
    [TAG.SeriesInstanceUID]: { vr: 'UI', Value: ['2.25.5159'] },
    [TAG.InstanceNumber]: { vr: 'IS', Value: ['900'] },
    [TAG.SamplesPerPixel]: { vr: 'US', Value: [1] },
    [TAG.PhotometricInterpretation]: { vr: 'CS', Value: ['MONOCHROME2'] },
    [TAG.Rows]: { vr: 'US', Value: [256] },
    [TAG.Columns]: { vr: 'US', Value: [256] },
    [TAG.BitsAllocated]: { vr: 'US', Value: [8] },
    [TAG.BitsStored]: { vr: 'US', Value: [8] },
    [TAG.HighBit]: { vr: 'US', Value: [7] },
    [TAG.PixelRepresentation]: { vr: 'US', Value: [0] },
    [TAG.PixelData]: { vr: 'OB', Value: [grey.buffer] },
  };
  return Buffer.from(dd.write());
}

beforeAll(async () => {
  await Promise.all([clinical.start(), research.start()]);
});
afterAll(async () => {
  await Promise.all([clinical.destroy(), research.destroy(), closeEngines(state.pixels)]);
});

describe('burned-in text over real anatomy, carried with the default configuration', () => {
  it('arrives with every ink pixel masked and the rest of each image kept; a page of text stays quarantined', async () => {
    // Every background, every placement, light text; lossless and JPEG alternate.
    const variants = anatomyVariants(1).filter((v) => {
      const alternate = ((v.seed - 1) >> 2) % 2 === 1;
      return v.lightText && v.jpeg === alternate;
    });
    const images: AnatomyImage[] = [];
    for (const v of variants) images.push(await anatomyImage(v));
    expect(new Set(variants.map((v) => v.background.file)).size).toBe(6);
    const dataDir = await carryStudy(clinical, research, [...images.map((i) => i.bytes), textPage()], 'kept');

    const db = openDatabase(dataDir);
    const quarantine = await listQuarantine(db, { limit: 100 });
    const shares = await db.all<{ masked_share: number | null }>(
      "SELECT masked_share FROM instances WHERE state = 'pushed'",
    );
    await db.close();

    // The page of text: quarantined, the reason gives the share and the frame, never the text.
    expect(quarantine).toHaveLength(1);
    expect(quarantine[0]!.check).toBe('kept-pixels');
    expect(quarantine[0]!.reason).toMatch(
      /^kept-pixels: \(7FE0,0010\) text masks would cover \d+\.\d% of frame 1, over the profile's limit of 15\.0%/,
    );
    expect(quarantine[0]!.reason).not.toMatch(/Findings|normal/i);
    // The audit keeps each carried instance's masked share, under the limit.
    expect(shares).toHaveLength(images.length);
    expect(shares.every((s) => s.masked_share !== null && s.masked_share > 0 && s.masked_share <= 0.15)).toBe(
      true,
    );

    const keys = deriveKeys(TEST_SECRET);
    const bySop = new Map(
      images.map((img) => [
        mapUid(keys, String(parseDicom(img.bytes).dict[TAG.SOPInstanceUID]!.Value![0])),
        img,
      ]),
    );
    const researchIds = await getJson<string[]>(`${research.url}/instances`);
    expect(researchIds).toHaveLength(images.length);
    const perImage: string[] = [];
    for (const id of researchIds) {
      const bytes = Buffer.from(await (await fetch(`${research.url}/instances/${id}/file`)).arrayBuffer());
      const file = parseDicom(bytes);
      const source = bySop.get(String(file.dict[TAG.SOPInstanceUID]!.Value![0]))!;
      expect(source).toBeDefined();
      expect(file.dict[TAG.BurnedInAnnotation]?.Value).toEqual(['NO']);
      const r = keptAndRemoved(source, await decode(source.bytes), await decode(bytes), {
        plain: await decode(source.plain),
      });
      expect(r.visiblePixels).toBeGreaterThan(300);
      expect(r.tracedPixels).toBeGreaterThan(300);
      // Per image, not on average: the label says which image failed. Visible ink: text standing
      // out from its ground by an eighth of the range (white text over white bone is not). Traced
      // ink: every ink pixel the stored image holds (it differs from the image without the text).
      perImage.push(
        `${source.label}: visible ink left ${r.visibleLeft}, traced ink left ${r.tracedLeft}, kept ${r.kept / r.outside >= 0.97 ? '>= 97%' : `${((100 * r.kept) / r.outside).toFixed(2)}%`}`,
      );
    }
    expect(
      perImage.filter((line) => !/visible ink left 0, traced ink left 0, kept >= 97%$/.test(line)),
    ).toEqual([]);
  });
});
