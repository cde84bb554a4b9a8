import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { BridgeApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { listJobs } from '../../src/store/jobs';
import { parseDicom, writeDicom } from '../../src/dicom/file';
import { makeCtStudy, makeMammoStudy, samplePatients } from '../fixtures/studies';
import { launchChromium, SCREENSHOTS } from '../helpers/browser';
import { TestOrthanc, freePort, waitFor } from '../helpers/orthanc';
import { ADMIN_TOKEN, OPERATOR_TOKEN, TEST_SECRET } from '../helpers/samples';
import { TAG } from '../../src/dicom/tags';

const RESEARCH_PASSWORD = 'research-password-browser';
let apiPort = 0;
let clinical: TestOrthanc;
const research = new TestOrthanc('research', {
  AuthenticationEnabled: true,
  RegisteredUsers: { bridge: RESEARCH_PASSWORD },
});
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-browser-'));
let app: BridgeApp;
let browser: Browser;

function config(researchPassword: string, allowModalities: string[] = []) {
  const cfgFile = path.join(dataDir, 'routes.json');
  writeFileSync(
    cfgFile,
    // Studies go to research only when someone asks from Orthanc Explorer.
    JSON.stringify({
      routes: [{ name: 'on-request', match: { explorerRequested: true } }],
      feed: { pollIntervalMs: 200 },
      profile: {
        name: 'browser',
        options: { retainLongitudinalModifiedDates: true, retainPatientCharacteristics: true },
        // Until the fix, the admin keeps OT out of research altogether (no OCR masking).
        pixelPolicy: { allowModalities, ocr: { quarantineModalities: allowModalities.length ? [] : ['OT'] } },
      },
    }),
  );
  return loadConfig({
    env: {
      BRIDGE_SOURCE_URL: clinical.url,
      BRIDGE_RESEARCH_URL: research.url,
      BRIDGE_RESEARCH_USERNAME: 'bridge',
      BRIDGE_RESEARCH_PASSWORD: researchPassword,
      BRIDGE_DATA_DIR: dataDir,
      BRIDGE_SECRET: TEST_SECRET,
      BRIDGE_API_PORT: String(apiPort),
      BRIDGE_API_TOKEN: OPERATOR_TOKEN,
      BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN,
    },
    configPath: cfgFile,
  });
}

/** The instance with another Modality, written again. */
function withModality(bytes: Buffer, modality: string): { bytes: Buffer } {
  const file = parseDicom(bytes);
  return {
    bytes: writeDicom({
      meta: file.meta,
      dict: { ...file.dict, [TAG.Modality]: { vr: 'CS', Value: [modality] } },
    }),
  };
}

async function uploadStudy(instances: Array<{ bytes: Buffer }>): Promise<string> {
  let id = '';
  for (const i of instances) id = (await clinical.upload(i.bytes)).ParentStudy;
  await clinical.waitStable([id]);
  return id;
}

beforeAll(async () => {
  apiPort = await freePort();
  clinical = new TestOrthanc(
    'clinical',
    { ResearchBridge: { Url: `http://127.0.0.1:${apiPort}`, ExplorerMetadataKey: 1025 } },
    { RESEARCH_BRIDGE_TOKEN: OPERATOR_TOKEN },
  );
  await Promise.all([clinical.start(), research.start()]);
  app = new BridgeApp(config(RESEARCH_PASSWORD), { console: false });
  await app.start();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await Promise.all([clinical.destroy(), research.destroy()]);
});

describe('Orthanc Explorer button and admin page, in a real browser', () => {
  it('sends a study from its Orthanc Explorer page and then shows it done with a working link', async () => {
    const [p] = samplePatients(1);
    const studyId = await uploadStudy(makeMammoStudy(p!, { studyIndex: 1, studyDate: '20240405' }));
    // The change feed saw the study, but no rule sends it without the Explorer flag.
    await waitFor('the feed to skip the study', async () => (await app.status()).jobs.skipped >= 1);

    const context = await browser.newContext({
      httpCredentials: { username: 'bridge', password: RESEARCH_PASSWORD },
    });
    const page = await context.newPage();
    await page.goto(`${clinical.url}/app/explorer.html#study?uuid=${studyId}`);
    const button = page.locator('#research-bridge-send');
    await button.waitFor({ state: 'visible' });
    await page.locator('#research-bridge-state').filter({ hasText: 'skipped' }).waitFor();
    await button.click();
    await page
      .locator('#research-bridge-state')
      .filter({ hasText: 'Research: done' })
      .waitFor({ timeout: 60_000 });
    const link = page.locator('a.research-bridge-link');
    await link.waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'explorer-study-sent.png'), fullPage: true });

    const href = (await link.getAttribute('href'))!;
    expect(href).toContain(`${research.url}/app/explorer.html#study?uuid=`);
    const researchPage = await context.newPage();
    await researchPage.goto(href);
    await researchPage.locator('#study-info').filter({ hasText: 'Study' }).waitFor();
    const info = await researchPage.locator('#study-info').innerText();
    expect(info).not.toContain(p!.name.split('^')[0]!);
    await researchPage.screenshot({ path: path.join(SCREENSHOTS, 'research-study.png'), fullPage: true });
    await context.close();
  });

  it('releases a quarantined instance from the admin page after a config fix, and it goes through', async () => {
    // Images of modality OT (often screenshots with text) are quarantined by this profile's pixel policy.
    const [, p] = samplePatients(2);
    const studyId = await uploadStudy(
      makeCtStudy(p!, { studyIndex: 1, studyDate: '20240406', slices: 2 }).map((i) =>
        withModality(i.bytes, 'OT'),
      ),
    );
    // Let the change feed see the study first (it skips it: nobody asked for it yet).
    await waitFor('the feed to skip the study', async () =>
      (await listJobs(app.db, { studyId })).some((j) => j.trigger === 'change' && j.state === 'skipped'),
    );
    const r = await fetch(`${clinical.url}/research-bridge/studies/${studyId}/send`, {
      method: 'POST',
      headers: { 'X-Requested-With': 'XMLHttpRequest' }, // as Orthanc Explorer's jQuery sends it
    });
    expect(r.ok).toBe(true); // the plugin forwards the bridge's 202 as a plain success
    // Both the Explorer request and the change feed queue the study; wait until neither is open.
    await waitFor(
      'the study to be quarantined',
      async () => {
        const s = await app.status();
        return s.quarantinedInstances === 2 && s.jobs.queued + s.jobs.running === 0;
      },
      60_000,
    );

    await app.reload(config(RESEARCH_PASSWORD, ['OT'])); // the fix: OT checked and allowed
    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: ADMIN_TOKEN },
    });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${apiPort}/admin`);
    await page.locator('#quarantine tr[data-id]').first().waitFor();
    expect(await page.locator('#quarantine tr[data-id]').count()).toBe(2);
    expect(await page.locator('#quarantine').innerText()).toContain('quarantines modality OT');
    // The summary counts both instances under one reason.
    const summary = await page.locator('#quarantine-summary tr').nth(1).innerText();
    expect(summary).toMatch(/^2\s/);
    expect(summary).toContain('pixel-policy');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'admin-quarantine.png'), fullPage: true });
    await page.locator('#quarantine tr[data-id] button[name=release]').first().click();
    await page.waitForURL(`http://127.0.0.1:${apiPort}/admin`);
    await waitFor(
      'the released study to go through',
      async () => {
        await page.reload();
        const running = await page.locator('#jobs-running b').innerText();
        return (await page.locator('#quarantine-empty').count()) === 1 && running === '0';
      },
      60_000,
      500,
    );
    expect(await page.locator('#recent').innerText()).toMatch(/done\s+release/);
    // The release is in the admin audit, with who did it from where.
    const actions = await page.locator('#admin-actions').innerText();
    expect(actions).toContain('quarantine-release');
    expect(actions).toMatch(/admin-page:admin@127\.0\.0\.1/);
    expect(await page.locator('#config').innerText()).not.toContain(RESEARCH_PASSWORD);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'admin-released.png'), fullPage: true });
    expect((await research.get<string[]>('/instances')).length).toBe(6);
    await context.close();
  });

  it('shows the admin page to an operator without the release buttons', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'operator', password: OPERATOR_TOKEN },
    });
    const page = await context.newPage();
    const res = await page.goto(`http://127.0.0.1:${apiPort}/admin`);
    expect(res?.status()).toBe(200);
    expect(await page.locator('#feed-cursor').innerText()).toMatch(/change feed cursor/);
    expect(await page.locator('button[name=release]').count()).toBe(0);
    await context.close();
  });
});
