/**
 * A header-only quarantine in a real browser (issue 27): the candidate's element table, every
 * element by path, keyword, VR and size, the element the gate failed marked by its path, and no
 * value on the page: the planted identity (the patient's family name copied into Manufacturer's
 * Model Name, which every profile keeps) is in the candidate, and must not be shown.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { BridgeApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { TAG, formatTag } from '../../src/dicom/tags';
import { makeCtStudy, samplePatients } from '../fixtures/studies';
import { launchChromium, SCREENSHOTS } from '../helpers/browser';
import { TestOrthanc, freePort, waitFor } from '../helpers/orthanc';
import { ADMIN_TOKEN, OPERATOR_TOKEN } from '../helpers/samples';
import { pairEnv } from '../helpers/carry';

const clinical = new TestOrthanc('clinical', { Plugins: [] });
const research = new TestOrthanc('research');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-elements-'));
// A name in ASCII, so that the copy below is the same text in the file's character set.
const patient = samplePatients(3)[2]!;
const family = patient.name.split('^')[0]!;
let apiPort = 0;
let app: BridgeApp;
let browser: Browser;

/** Every value of the patient as it could appear on a page, in any case. */
const planted = [
  ...patient.name.split('^'),
  patient.id,
  patient.birthDate,
  patient.address,
  patient.phone,
].map((v) => v.toLowerCase());

beforeAll(async () => {
  apiPort = await freePort();
  await Promise.all([clinical.start(), research.start()]);
  const instances = makeCtStudy(patient, { studyIndex: 1, studyDate: '20240115', slices: 2 });
  let studyId = '';
  for (const [i, inst] of instances.entries()) {
    // The second slice carries the family name where the profile keeps the value (the model name).
    const bytes =
      i === 1
        ? Buffer.from(
            inst.bytes.toString('latin1').replace('Model 9000', family.padEnd(10, ' ').slice(0, 10)),
            'latin1',
          )
        : inst.bytes;
    studyId = (await clinical.upload(bytes)).ParentStudy;
  }
  await clinical.waitStable([studyId]);
  app = new BridgeApp(
    loadConfig({
      env: pairEnv(clinical, research, dataDir, {
        BRIDGE_API_PORT: String(apiPort),
        BRIDGE_API_TOKEN: OPERATOR_TOKEN,
        BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN,
        BRIDGE_POLL_INTERVAL_MS: '200',
      }),
    }),
    { console: false },
  );
  await app.start();
  browser = await launchChromium();
  await waitFor(
    'the study quarantined',
    async () => (await app.status()).jobs.quarantined === 1,
    120_000,
    200,
  );
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await Promise.all([clinical.destroy(), research.destroy()]);
});

describe('the element table of a header-only quarantine', () => {
  it('marks the element the gate failed by its path, shows no value, and works with the keyboard', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: ADMIN_TOKEN },
    });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${apiPort}/admin`);
    const link = page.locator('#quarantine a.elements');
    expect(await link.count()).toBe(1);
    expect(await page.locator('#quarantine a.picture').count()).toBe(0); // a header check: no picture
    await link.focus();
    await page.keyboard.press('Enter');
    await page.locator('#elements').waitFor();

    const model = formatTag(TAG.ManufacturerModelName);
    const marked = page.locator('#elements tr.fail');
    expect(await marked.count()).toBe(1);
    expect(await marked.locator('td').first().innerText()).toBe(model);
    expect(await marked.locator('td').nth(1).innerText()).toBe('ManufacturerModelName');
    expect(await marked.locator('td').nth(4).innerText()).toMatch(
      /^residual-phi: holds the original's patient name/,
    );
    // The rest of the candidate is listed too, by path (the Patient ID, the pseudonym, unmarked).
    const patientId = page.locator('#elements tr', { hasText: formatTag(TAG.PatientID) });
    expect(await patientId.locator('td').nth(3).innerText()).toBe('1 value');
    expect(await page.locator('#elements tr').count()).toBeGreaterThan(40);

    // The list of findings links to the marked row, by keyboard.
    await page.locator('#failed a').first().focus();
    await page.keyboard.press('Enter');
    expect(new URL(page.url()).hash).toMatch(/^#fail-\d+$/);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'review-quarantine-elements.png'), fullPage: true });

    const html = (await page.content()).toLowerCase();
    for (const v of planted)
      expect({ v: v.length, found: html.includes(v) }).toEqual({ v: v.length, found: false });
    await context.close();
  });

  it('is for admins only', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'operator', password: OPERATOR_TOKEN },
    });
    const r = await context.request.get(`http://127.0.0.1:${apiPort}/admin/quarantine/1/elements`);
    expect([401, 403]).toContain(r.status());
    await context.close();
  });
});
