/**
 * Operator review in a real browser (issue 27, in part): a carried image with burned-in text over
 * real anatomy is shown in the masked-images gallery as a picture of its research copy, masks
 * outlined; an admin recalls it, it leaves research and enters quarantine with the audit row, and
 * a release carries it again. No planted identity is on any page or in any picture's bytes.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { BridgeApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { IDENTITY, plantedStrings } from '../helpers/burnedIn';
import { launchChromium, SCREENSHOTS } from '../helpers/browser';
import { TestOrthanc, freePort, waitFor } from '../helpers/orthanc';
import { anatomyImage, anatomyVariants } from '../helpers/realAnatomy';
import { CORPORA } from '../helpers/realWorld';
import { inflateSync } from 'node:zlib';
import { newProcessState } from '../../src/pipeline/context';
import { closeEngines } from '../../src/pixels/clean';
import type { DecodedImage } from '../../src/pixels/image';
import { identifyingWords, identityTokens } from '../../src/pixels/text';
import { ADMIN_TOKEN, OPERATOR_TOKEN } from '../helpers/samples';
import { pairEnv } from '../helpers/carry';

const clinical = new TestOrthanc('clinical', { Plugins: [] });
const research = new TestOrthanc('research');
let apiPort = 0;
let app: BridgeApp;
let browser: Browser;
let studyId = '';
let textStudyId = '';
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-review-'));

/** The bridge's config; `limit`: the share of a frame text masks may cover (ocr.maxMaskedFraction). */
function config(limit?: number) {
  const file = path.join(dataDir, 'bridge.json');
  writeFileSync(
    file,
    JSON.stringify(
      limit
        ? { profile: { name: 'review', options: {}, pixelPolicy: { ocr: { maxMaskedFraction: limit } } } }
        : {},
    ),
  );
  return loadConfig({
    env: pairEnv(clinical, research, dataDir, {
      BRIDGE_API_PORT: String(apiPort),
      BRIDGE_API_TOKEN: OPERATOR_TOKEN,
      BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN,
      BRIDGE_POLL_INTERVAL_MS: '200',
    }),
    configPath: file,
  });
}

const ocrState = newProcessState({ workers: 1, timeoutMs: 120_000 });

/** A PNG the review served, as an 8-bit RGB image for OCR (one IDAT, filter 0: the bridge's writer). */
function pngImage(png: Buffer): DecodedImage {
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const idat = png.indexOf('IDAT', 0, 'latin1');
  const raw = inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4)));
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    data.set(raw.subarray(y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1)), y * width * 3);
  return {
    rows: height,
    columns: width,
    frames: 1,
    samples: 3,
    bitsAllocated: 8,
    bitsStored: 8,
    signed: false,
    photometric: 'RGB',
    data,
  } as DecodedImage;
}

/** What OCR reads in a served picture that is a planted identity (none may be). */
async function identityRead(png: Buffer): Promise<string | undefined> {
  const words = await ocrState.pixels.ocr.readFrame(pngImage(png), 0);
  const tokens = identityTokens([IDENTITY.name, IDENTITY.id, IDENTITY.birthDate]);
  return identifyingWords(words, tokens).kind;
}

/** Every planted value as it could appear: in the header, drawn in the pixels, in any case. */
const planted = [IDENTITY.name, IDENTITY.id, IDENTITY.birthDate, 'QUILLFEATHER', ...plantedStrings()].map(
  (v) => v.toLowerCase(),
);

beforeAll(async () => {
  apiPort = await freePort();
  await Promise.all([clinical.start(), research.start()]);
  // pydicom's CT head with the name, ID and dates drawn in its corners (lossless, light text).
  const variant = anatomyVariants(1).find(
    (v) => v.background.file === '693_J2KI.dcm' && v.placement === 'corners' && v.lightText && !v.jpeg,
  )!;
  studyId = (await clinical.upload((await anatomyImage(variant)).bytes)).ParentStudy;
  // pydicom's page of three coloured words: its masks would cover 27.9% of the frame (kept-pixels).
  textStudyId = (await clinical.upload(readFileSync(path.join(CORPORA.pydicom!, 'GDCMJ2K_TextGBR.dcm'))))
    .ParentStudy;
  await clinical.waitStable([studyId, textStudyId]);
  app = new BridgeApp(config(), { console: false });
  await app.start();
  browser = await launchChromium();
  await waitFor(
    'both studies ended',
    async () => {
      const jobs = (await app.status()).jobs;
      return jobs.done === 1 && jobs.quarantined === 1;
    },
    120_000,
    200,
  );
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await closeEngines(ocrState.pixels);
  await Promise.all([clinical.destroy(), research.destroy()]);
});

describe('the masked-images gallery', () => {
  it('shows the research copy with its masks outlined, recalls it into quarantine (audited), and a release carries it again', async () => {
    expect(await research.get<string[]>('/instances')).toHaveLength(1);
    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: ADMIN_TOKEN },
    });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${apiPort}/admin`);
    await page.locator('#masked-gallery').click();
    const figure = page.locator('#gallery figure');
    await figure.first().waitFor();
    expect(await figure.count()).toBe(1);
    const img = figure.first().locator('img');
    await waitFor('the preview to load', async () =>
      img.evaluate((e) => {
        const i = e as unknown as { complete: boolean; naturalWidth: number };
        return i.complete && i.naturalWidth > 0;
      }),
    );
    expect(await img.evaluate((e) => (e as unknown as { naturalWidth: number }).naturalWidth)).toBe(256);
    expect(await img.getAttribute('alt')).toMatch(
      /^Research copy of a carried instance on research: \d+\.\d% of a frame masked in \d+ regions?, outlined in magenta$/,
    );
    await page.screenshot({ path: path.join(SCREENSHOTS, 'review-masked-gallery.png'), fullPage: true });

    // The picture is drawn from research's copy: magenta outlines, and no planted value in any byte.
    const src = (await img.getAttribute('src'))!;
    const png = await page.request.get(new URL(src, page.url()).toString());
    expect(png.headers()['content-type']).toBe('image/png');
    expect(png.headers()['cache-control']).toBe('no-store');
    const bytes = (await png.body()).toString('latin1').toLowerCase();
    const html = (await page.content()).toLowerCase();
    for (const v of planted) {
      expect(html).not.toContain(v);
      expect(bytes).not.toContain(v);
    }
    // And OCR, reading the picture at full size as a person would, finds no planted identity in
    // it (at 512 px the corner text, were it there, is as large as in the original).
    const full = await page.request.get(new URL(src.replace('size=256', 'size=512'), page.url()).toString());
    expect(await identityRead(await full.body())).toBeUndefined();
    // Keyboard: the Recall button is reachable and labelled.
    const recall = figure.first().getByRole('button', { name: 'Recall this instance from research' });
    await recall.focus();
    await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/recall')),
      page.keyboard.press('Enter'),
    ]);
    await page.waitForURL(`http://127.0.0.1:${apiPort}/admin/masked`);
    await page.locator('#gallery').waitFor();
    expect(await page.locator('#gallery figure').count()).toBe(0);
    expect(await research.get<string[]>('/instances')).toHaveLength(0);

    const [entry] = await app.service.quarantine({ limit: 10 });
    expect(entry).toMatchObject({ check: 'recalled', studyId });
    expect(entry!.reason).toMatch(/^recalled by admin-page:admin@127\.0\.0\.1/);
    const actions = await app.service.adminActions(5);
    expect(actions[0]).toMatchObject({ action: 'recall', outcome: 'recalled' });

    // An operator may not see the gallery, the pictures, or recall.
    const operator = await browser.newContext({
      httpCredentials: { username: 'operator', password: OPERATOR_TOKEN },
    });
    const denied = await operator.newPage();
    expect((await denied.goto(`http://127.0.0.1:${apiPort}/admin/masked`))?.status()).toBe(403);
    expect((await denied.request.get(new URL(src, page.url()).toString())).status()).toBe(403);
    await operator.close();

    // Another run of the study before a release leaves the recalled instance alone.
    const before = (await app.status()).jobs;
    await app.service.queueStudy(studyId, 'api');
    await waitFor('the study run again', async () => {
      const jobs = (await app.status()).jobs;
      return (
        jobs.queued + jobs.running === 0 && jobs.done + jobs.quarantined > before.done + before.quarantined
      );
    });
    expect(await research.get<string[]>('/instances')).toHaveLength(0);
    expect((await app.service.quarantine({ limit: 10 }))[0]).toMatchObject({
      id: entry!.id,
      check: 'recalled',
    });

    await app.service.release(entry!.id, 'test');
    await waitFor(
      'the released instance back on research',
      async () => ((await research.get<string[]>('/instances')).length === 1 ? true : undefined),
      60_000,
    );
    await page.reload();
    await page.locator('#gallery figure').first().waitFor();
    await context.close();
  });

  it('shows the masked candidate of a kept-pixels quarantine, and after a higher limit its release reaches research', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: ADMIN_TOKEN },
    });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${apiPort}/admin`);
    const row = page.locator('#quarantine tr[data-id]').filter({ hasText: 'kept-pixels' });
    await row.waitFor();
    const link = row.locator('a.picture');
    const picture = await page.request.get(
      new URL((await link.getAttribute('href'))!, page.url()).toString(),
    );
    expect(picture.status()).toBe(200);
    expect(picture.headers()['content-type']).toBe('image/png');
    const shown = await context.newPage();
    await shown.goto(new URL((await link.getAttribute('href'))!, page.url()).toString());
    await shown.screenshot({ path: path.join(SCREENSHOTS, 'review-quarantine-candidate.png') });
    await shown.close();
    for (const v of planted) expect((await picture.body()).toString('latin1').toLowerCase()).not.toContain(v);
    expect(await identityRead(await picture.body())).toBeUndefined();
    // The original is one click away, in the clinical Explorer (where the admin may look).
    expect(await row.locator('a.original').getAttribute('href')).toMatch(
      new RegExp(`^${clinical.url.replace(/[.]/g, '\\.')}/app/explorer\\.html#instance\\?uuid=[0-9a-f-]+$`),
    );

    await app.reload(config(0.4));
    const id = Number(await row.getAttribute('data-id'));
    await app.service.release(id, 'test');
    await waitFor(
      'the released page of text on research',
      async () => ((await app.service.studyState(textStudyId)).destinations.length === 1 ? true : undefined),
      120_000,
      200,
    );
    expect(await app.service.quarantineCount()).toBe(0);
    await context.close();
  });

  it('draws the plots from the store with the library the bridge serves, each with its table', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'operator', password: OPERATOR_TOKEN },
    });
    const page = await context.newPage();
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    page.on('pageerror', (e) => failed.push(e.message));
    await page.goto(`http://127.0.0.1:${apiPort}/admin`);
    await page.locator('#plots-link').click();
    await page.locator('body[data-plotted="yes"]').waitFor();
    // uPlot drew a canvas per chart; nothing came from elsewhere, nothing failed.
    expect(await page.locator('#plot-hourly canvas').count()).toBe(1);
    // No quarantine is open any more: said in words, no empty chart.
    expect(await page.locator('#plot-checks').innerText()).toBe('None in this period.');
    expect(await page.locator('#plot-masked canvas').count()).toBe(1);
    expect(failed).toEqual([]);
    // The data: two instances on research now (the CT, carried again after its recall, and the page of words).
    const plots = (await (await page.request.get(`http://127.0.0.1:${apiPort}/admin/api/plots`)).json()) as {
      pushedPerHour: Array<{ count: number }>;
      quarantinedPerHour: Array<{ count: number }>;
      maskedShare: Array<{ band: string; count: number }>;
      feedLagPerHour: Array<{ hour: string; maxLag: number; polls: number }>;
    };
    expect(plots.pushedPerHour.reduce((n, h) => n + h.count, 0)).toBe(2);
    expect(plots.maskedShare.reduce((n, b) => n + b.count, 0)).toBe(2);
    expect(plots.maskedShare.find((b) => b.band === '>= 15%')?.count).toBe(1); // the page of words, let through at 0.4
    // The feed polled every 200 ms since the start, in this hour (or the last two): its lag recorded.
    expect(plots.feedLagPerHour.reduce((n, h) => n + h.polls, 0)).toBeGreaterThan(5);
    expect(await page.locator('#plot-lag canvas').count()).toBe(1);
    await page.locator('details').first().locator('summary').click();
    expect(await page.locator('#table-hourly tr').count()).toBeGreaterThan(1);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'admin-plots.png'), fullPage: true });
    const html = (await page.content()).toLowerCase();
    for (const v of planted) expect(html).not.toContain(v);
    await context.close();
  });
});
