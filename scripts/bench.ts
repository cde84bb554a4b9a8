/**
 * End-to-end benchmark, in one run on one machine:
 *   (a) the transfer floor: pull each file from the clinical Orthanc and push it unchanged to the
 *       research one, at the bridge's concurrency, with the leanest client Node has (node:http),
 *       then the same copy through axios and through the bridge's own client, for comparison;
 *   (b) Orthanc's own anonymize + peer store, study by study;
 *   (c) the bridge, end to end from the change events (`bridge run --once` in its own process).
 * Each on a clean research server. Prints instances/s, MB/s, ratios and the bridge's peak RSS,
 * then the stable-to-research latency of a four-view mammography study, and (--memory) peak RSS
 * on a study of many instances and on one large multi-frame instance.
 *
 *   npm run bench -- [--patients 2] [--ct-slices 100] [--mammo-rows 2294] [--mammo-columns 1914]
 *                    [--concurrency 4] [--memory] [--large-study 1000] [--multiframe-frames 100]
 *   npm run bench -- --replicas 3   (only: the corpus carried by 1, 2, 3 replicas on PostgreSQL)
 */
import axios from 'axios';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { OrthancClient } from '../src/orthanc/client';
import {
  makeCtStudy,
  makeMammoStudy,
  makeMultiframeInstance,
  samplePatients,
} from '../test/fixtures/studies';
import { mapPool } from '../src/util/timing';
import { TestOrthanc, waitFor } from '../test/helpers/orthanc';
import { replicaBench } from './bench-replicas';

const { values: args } = parseArgs({
  options: {
    patients: { type: 'string', default: '2' },
    'ct-slices': { type: 'string', default: '100' },
    'mammo-rows': { type: 'string', default: '2294' },
    'mammo-columns': { type: 'string', default: '1914' },
    concurrency: { type: 'string', default: '4' },
    memory: { type: 'boolean', default: false },
    'large-study': { type: 'string', default: '1000' },
    'multiframe-frames': { type: 'string', default: '100' },
    replicas: { type: 'string' },
  },
});
const CONCURRENCY = Number(args.concurrency);
const SECRET = 'benchmark-secret-not-for-production';
const TOKEN = 'benchmark-operator-token-0123456789';
const CLI = path.resolve(__dirname, '../dist/cli.js');

const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
const log = (s: string): void => console.log(s);

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  return [r, Number(process.hrtime.bigint() - t0) / 1e9];
}

/** The leanest copy Node has: one keep-alive agent, the body's chunks concatenated once. */
const plainAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function plainGet(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: plainAgent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Buffer.concat(chunks))
            : reject(new Error(`GET ${res.statusCode}`)),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

function plainPost(url: string, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: plainAgent,
        headers: { 'Content-Type': 'application/dicom', 'Content-Length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`POST ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function cleanResearch(research: OrthancClient): Promise<void> {
  for (const p of await research.getJson<string[]>('/patients'))
    await research.getJson(`/patients/${p}`).then(() => del(research, `/patients/${p}`));
}

async function del(client: OrthancClient, route: string): Promise<void> {
  const res = await fetch(`${client.url}${route}`, { method: 'DELETE' });
  if (!res.ok) throw new Error(`DELETE ${route}: ${res.status}`);
}

async function post(url: string, body: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', body });
  if (!res.ok) throw new Error(`POST ${url}: ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/** Runs `bridge run --once` in its own process; returns seconds and peak RSS (VmHWM) in bytes. */
async function runBridge(
  clinical: string,
  research: string,
  extraEnv: Record<string, string> = {},
): Promise<{ seconds: number; peakRss: number; out: string }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-bridge-'));
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [CLI, 'run', '--once'], {
    env: {
      PATH: process.env.PATH,
      BRIDGE_SOURCE_URL: clinical,
      BRIDGE_RESEARCH_URL: research,
      BRIDGE_DATA_DIR: dataDir,
      BRIDGE_SECRET: SECRET,
      BRIDGE_CONCURRENCY: String(CONCURRENCY),
      BRIDGE_LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      /* exited */
    }
  }, 20);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearInterval(sampler);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`bridge exited ${code}: ${out}`);
  // Where the time went, summed over instances (stages overlap: N instances are in flight).
  const csv = readFileSync(path.join(dataDir, 'reports', 'audit.csv'), 'utf8')
    .trim()
    .split('\r\n');
  const header = csv[0]!.split(',');
  const stages: Record<string, number> = {};
  for (const line of csv.slice(1)) {
    const cells = line.split(',');
    for (const k of ['durationMs', 'pullMs', 'deidentifyMs', 'verifyMs', 'pushMs'])
      stages[k] = (stages[k] ?? 0) + Number(cells[header.indexOf(k)]);
  }
  rmSync(dataDir, { recursive: true, force: true });
  return {
    seconds,
    peakRss: peak,
    out: `${out.trim()}\n  stage totals (ms, summed over instances): ${JSON.stringify(stages)}`,
  };
}

async function upload(clinical: TestOrthanc, files: Buffer[]): Promise<string[]> {
  const studies = new Set<string>();
  await mapPool(files, 4, async (b) => studies.add((await clinical.upload(b)).ParentStudy));
  await clinical.waitStable([...studies]);
  return [...studies];
}

async function main(): Promise<void> {
  log(
    `bench: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${mb(os.totalmem())} MB RAM, Node ${process.version}, concurrency ${CONCURRENCY}`,
  );
  const research = await new TestOrthanc('research', { StorageCompression: false }).start();
  const clinicalOrthanc = new TestOrthanc('clinical', {
    Plugins: [],
    OrthancPeers: { research: [research.url] },
  });
  await clinicalOrthanc.start();
  const source = new OrthancClient({ url: clinicalOrthanc.url, timeoutMs: 600_000, label: 'source' });
  const target = new OrthancClient({ url: research.url, timeoutMs: 600_000, label: 'research' });
  try {
    // Corpus
    const patients = samplePatients(Number(args.patients));
    const files: Buffer[] = [];
    for (const [i, p] of patients.entries()) {
      files.push(
        ...makeCtStudy(p, {
          studyIndex: 1,
          studyDate: '20240110',
          slices: Number(args['ct-slices']),
          size: 512,
        }).map((x) => x.bytes),
      );
      files.push(
        ...makeMammoStudy(p, {
          studyIndex: 2,
          studyDate: `2024031${i % 10}`,
          mammoRows: Number(args['mammo-rows']),
          mammoColumns: Number(args['mammo-columns']),
        }).map((x) => x.bytes),
      );
    }
    const totalBytes = files.reduce((n, b) => n + b.length, 0);
    const largest = Math.max(...files.map((b) => b.length));
    const studies = await upload(clinicalOrthanc, files);
    files.length = 0;
    const instanceIds = await source.getJson<string[]>('/instances');
    log(
      `corpus: ${patients.length} patients, ${studies.length} studies, ${instanceIds.length} instances, ${mb(totalBytes)} MB, largest ${mb(largest)} MB`,
    );
    if (args.replicas) {
      await replicaBench({
        replicas: Number(args.replicas),
        clinical: clinicalOrthanc,
        research,
        target,
        instances: instanceIds.length,
        bytes: totalBytes,
        concurrency: CONCURRENCY,
        secret: SECRET,
        cli: CLI,
        cleanResearch: () => cleanResearch(target),
        log,
      });
      return;
    }

    // (a) the floor: the leanest copy Node has (node:http, keep-alive, chunks concatenated once),
    // then the same copy through axios, then through the bridge's own client.
    const [, floor] = await time(() =>
      mapPool(instanceIds, CONCURRENCY, async (id) => {
        const bytes = await plainGet(`${clinicalOrthanc.url}/instances/${id}/file`);
        await plainPost(`${research.url}/instances`, bytes);
      }),
    );
    await cleanResearch(target);
    const ax = axios.create({
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: 16 }),
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
      proxy: false,
    });
    const [, axiosCopy] = await time(() =>
      mapPool(instanceIds, CONCURRENCY, async (id) => {
        const r = await ax.get(`${clinicalOrthanc.url}/instances/${id}/file`, {
          responseType: 'arraybuffer',
        });
        await ax.post(`${research.url}/instances`, Buffer.from(r.data as ArrayBuffer), {
          headers: { 'Content-Type': 'application/dicom' },
        });
      }),
    );
    await cleanResearch(target);
    const [, clientCopy] = await time(() =>
      mapPool(instanceIds, CONCURRENCY, async (id) => {
        await target.storeInstance(await source.instanceFile(id));
      }),
    );
    await cleanResearch(target);

    // (b) Orthanc's anonymize + peer store
    const made: string[] = [];
    const [, orthancTime] = await time(() =>
      mapPool(studies, Math.min(CONCURRENCY, studies.length), async (id) => {
        const anon = await post(
          `${clinicalOrthanc.url}/studies/${id}/anonymize`,
          JSON.stringify({ Force: true }),
        );
        made.push(String(anon.ID));
        await post(
          `${clinicalOrthanc.url}/peers/research/store`,
          JSON.stringify({ Resources: [anon.ID], Synchronous: true }),
        );
      }),
    );
    for (const id of made) await del(source, `/studies/${id}`);
    const orthancCount = (await target.getJson<string[]>('/instances')).length;
    await cleanResearch(target);

    // (c) the bridge, from the change events
    const bridge = await runBridge(clinicalOrthanc.url, research.url);
    const bridgeCount = (await target.getJson<string[]>('/instances')).length;

    const row = (name: string, s: number): string =>
      `  ${name.padEnd(34)} ${s.toFixed(2).padStart(8)} s ${(instanceIds.length / s).toFixed(1).padStart(8)} inst/s ${(totalBytes / 1e6 / s).toFixed(1).padStart(8)} MB/s`;
    log('results (each on a clean research server):');
    log(row('(a) floor: node:http copy', floor));
    log(row('    the same copy through axios', axiosCopy) + `   (${(axiosCopy / floor).toFixed(2)}x floor)`);
    log(
      row("    through the bridge's client", clientCopy) + `   (${(clientCopy / floor).toFixed(2)}x floor)`,
    );
    log(row(`(b) Orthanc anonymize + peer store`, orthancTime) + `   (${orthancCount} instances arrived)`);
    log(row('(c) bridge, from the change events', bridge.seconds) + `   (${bridgeCount} instances arrived)`);
    log(`  bridge / floor:   ${(bridge.seconds / floor).toFixed(2)}x   (target <= 1.15x)`);
    log(`  bridge / Orthanc: ${(bridge.seconds / orthancTime).toFixed(2)}x   (target <= 0.80x)`);
    log(
      `  bridge peak RSS:  ${mb(bridge.peakRss)} MB   (bound 2 x largest + 200 = ${mb(2 * largest + 200e6)} MB)`,
    );
    log(`  bridge said:      ${bridge.out}`);

    // Latency: stable -> last instance confirmed on research, four-view mammography, daemon running
    await cleanResearch(target);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-latency-'));
    const apiPort = 20000 + Math.floor(Math.random() * 20000);
    const daemon = spawn(process.execPath, [CLI, 'run'], {
      env: {
        PATH: process.env.PATH,
        BRIDGE_SOURCE_URL: clinicalOrthanc.url,
        BRIDGE_RESEARCH_URL: research.url,
        BRIDGE_DATA_DIR: dataDir,
        BRIDGE_SECRET: SECRET,
        BRIDGE_API_TOKEN: TOKEN,
        BRIDGE_API_PORT: String(apiPort),
        BRIDGE_POLL_INTERVAL_MS: '100',
        BRIDGE_LOG_LEVEL: 'warn',
        BRIDGE_CONCURRENCY: String(CONCURRENCY),
      },
      stdio: 'ignore',
    });
    try {
      const api = `http://127.0.0.1:${apiPort}`;
      await waitFor('the bridge daemon', async () => (await fetch(`${api}/healthz`)).ok, 30_000, 100);
      await waitFor(
        'the daemon to go idle',
        async () => {
          const s = (await (
            await fetch(`${api}/api/status`, { headers: { Authorization: `Bearer ${TOKEN}` } })
          ).json()) as { jobs: Record<string, number> };
          return (s.jobs.queued ?? 0) + (s.jobs.running ?? 0) === 0 && (s.jobs.done ?? 0) > 0;
        },
        600_000,
        200,
      );
      const [p] = samplePatients(1).map((x) => ({ ...x, id: 'MRN-LATENCY-1' }));
      const mammo = makeMammoStudy(p!, {
        studyIndex: 9,
        studyDate: '20240501',
        mammoRows: Number(args['mammo-rows']),
        mammoColumns: Number(args['mammo-columns']),
      });
      let study = '';
      for (const m of mammo) study = (await clinicalOrthanc.upload(m.bytes)).ParentStudy;
      await waitFor('stable', async () => (await source.study(study))?.IsStable, 120_000, 20);
      const stableAt = Date.now();
      const done = await waitFor(
        'the mammography study on research',
        async () => {
          const jobs = (await (
            await fetch(`${api}/api/jobs?study=${study}`, { headers: { Authorization: `Bearer ${TOKEN}` } })
          ).json()) as Array<{ state: string }>;
          return jobs.some((j) => j.state === 'done') ? Date.now() : undefined;
        },
        120_000,
        10,
      );
      log(
        `latency: four-view mammography (4 x ${mb(mammo[0]!.bytes.length)} MB), stable -> last instance confirmed on research: ${done - stableAt} ms (change feed polled every 100 ms)`,
      );
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon.once('exit', r));
    }

    if (args.memory) {
      // Many instances: one CT study of N slices
      await cleanResearch(target);
      for (const s of await source.getJson<string[]>('/studies')) await del(source, `/studies/${s}`);
      const [q] = samplePatients(5).slice(4);
      const n = Number(args['large-study']);
      const big = makeCtStudy(q!, { studyIndex: 1, studyDate: '20240601', slices: n, size: 512 });
      const bigLargest = Math.max(...big.map((x) => x.bytes.length));
      await upload(
        clinicalOrthanc,
        big.map((x) => x.bytes),
      );
      big.length = 0;
      const r1 = await runBridge(clinicalOrthanc.url, research.url);
      log(
        `memory: a study of ${n} instances (largest ${mb(bigLargest)} MB): ${r1.seconds.toFixed(1)} s, peak RSS ${mb(r1.peakRss)} MB (bound ${mb(2 * bigLargest + 200e6)} MB)`,
      );

      // One large multi-frame instance
      await cleanResearch(target);
      for (const s of await source.getJson<string[]>('/studies')) await del(source, `/studies/${s}`);
      const frames = Number(args['multiframe-frames']);
      const mf = makeMultiframeInstance(q!, {
        studyIndex: 3,
        studyDate: '20240602',
        frames,
        rows: 1024,
        columns: 1024,
      });
      const mfSize = mf.bytes.length;
      await upload(clinicalOrthanc, [mf.bytes]);
      const r2 = await runBridge(clinicalOrthanc.url, research.url);
      log(
        `memory: one multi-frame instance of ${mb(mfSize)} MB (${frames} frames of 1024x1024): ${r2.seconds.toFixed(1)} s, peak RSS ${mb(r2.peakRss)} MB (bound ${mb(2 * mfSize + 200e6)} MB)`,
      );
    }
  } finally {
    await Promise.all([clinicalOrthanc.destroy(), research.destroy()]);
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
