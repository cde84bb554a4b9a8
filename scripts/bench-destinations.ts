/**
 * `npm run bench -- --destinations`: the same corpus carried by the bridge (`run --once`, its own
 * process) to one destination of each kind in turn, each a fresh server: an Orthanc peer (REST),
 * a DICOMweb server (Orthanc's DICOMweb plugin, confirmed by WADO-RS + MD5), an Orthanc DICOM port
 * (C-STORE, confirmed by C-FIND) and dcmtk's storescp (C-STORE, no confirmation). Prints
 * instances/s and MB/s for each.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dimseEntry, startStorescp } from '../test/helpers/dimse';
import { TestOrthanc, freePort } from '../test/helpers/orthanc';

export interface DestinationBenchInput {
  readonly clinicalUrl: string;
  readonly instances: number;
  readonly bytes: number;
  /** Runs `bridge run --once` with this environment; resolves with its seconds. */
  readonly runBridge: (env: Record<string, string>) => Promise<{ seconds: number }>;
  readonly log: (s: string) => void;
}

export async function destinationBench(i: DestinationBenchInput): Promise<void> {
  const rows: string[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-destinations-'));
  const one = async (name: string, research: TestOrthanc, destination: Record<string, unknown> | null) => {
    const file = path.join(dir, `${name}.json`);
    writeFileSync(
      file,
      JSON.stringify(
        destination
          ? { destinations: { dest: destination }, routes: [{ name: 'bench', destinations: ['dest'] }] }
          : {},
      ),
    );
    const { seconds } = await i.runBridge({ BRIDGE_CONFIG: file, BRIDGE_RESEARCH_URL: research.url });
    rows.push(
      `  ${name.padEnd(34)} ${(i.instances / seconds).toFixed(1).padStart(7)} inst/s ${(i.bytes / 1048576 / seconds).toFixed(1).padStart(7)} MB/s ${seconds.toFixed(1).padStart(7)} s`,
    );
  };
  const orthanc = await new TestOrthanc('research', { StorageCompression: false }).start();
  const web = await new TestOrthanc('research', {
    Plugins: ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so'],
    DicomWeb: { Enable: true, Root: '/dicom-web/' },
  }).start();
  const pacsPort = await freePort();
  const pacs = await new TestOrthanc('research', {
    DicomServerEnabled: true,
    DicomAet: 'PACS',
    DicomPort: pacsPort,
    DicomModalities: { bridge: ['BRIDGE', '127.0.0.1', 104] },
  }).start();
  const scpDir = mkdtempSync(path.join(os.tmpdir(), 'bench-storescp-'));
  const scp = await startStorescp(scpDir);
  try {
    await one('orthanc (REST, MD5)', orthanc, null);
    await one('dicomweb (STOW-RS, WADO-RS + MD5)', orthanc, {
      kind: 'dicomweb',
      url: `${web.url}/dicom-web`,
      confirm: 'md5',
    });
    await one('dimse (Orthanc C-STORE, C-FIND)', orthanc, dimseEntry(pacsPort, 'PACS', 'c-find'));
    await one('dimse (storescp, no confirmation)', orthanc, dimseEntry(scp.port, 'STORESCP'));
  } finally {
    scp.proc.kill();
    await Promise.all([orthanc.destroy(), web.destroy(), pacs.destroy()]);
    rmSync(scpDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
  i.log(`destinations (${i.instances} instances, ${(i.bytes / 1048576).toFixed(1)} MB, one kind at a time):`);
  for (const r of rows) i.log(r);
}
