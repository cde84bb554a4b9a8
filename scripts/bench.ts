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
 *   npm run bench -- --runs 5        (a)-(c) five times, then the spread
 *   npm run bench -- --scale 1,4,16  (only: the corpus at 1x, 4x, 16x, inst/s for each)
 *   npm run bench -- --replicas 3   (only: the corpus carried by 1, 2, 3 replicas on PostgreSQL)
 *   npm run bench -- --destinations  (only: the corpus to one destination of each kind: inst/s each)
 *   npm run bench -- --profile DIR   (the bridge's run writes a V8 CPU profile to DIR)
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
import { cpuOf, cpuOfOrthanc } from './bench-cpu';
import {
  KEEP_ALIVE_MARGIN_MS,
  STALE_SOCKET_RETRIES,
  httpAgent,
  retryStaleSockets,
  staleSocket,
} from '../src/orthanc/agents';
import { replicaBench } from './bench-replicas';
import { destinationBench } from './bench-destinations';

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
    destinations: { type: 'boolean', default: false },
    /** Times (a)-(c) are run, each on a clean research server; the spread is printed. */
    runs: { type: 'string', default: '1' },
    /** Extra environment for the bridge's runs, e.g. BRIDGE_MEMORY_BUDGET_MB=64 (repeatable). */
    'bridge-env': { type: 'string', multiple: true },
    /** Corpus sizes as multiples of --patients, e.g. 1,4,16: inst/s for each. */
    scale: { type: 'string' },
    /** A folder: the bridge's run writes a V8 CPU profile there (node --cpu-prof). */
    profile: { type: 'string' },
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

/**
 * The leanest copy Node has: one keep-alive agent, the body's chunks concatenated once. Its
 * connections are reused as the bridge's are (Orthanc 1.10 announces a one-second keep-alive,
 * which Node's default margin turns into none: src/orthanc/agents.ts).
 */
const plainAgent = new http.Agent({
  keepAlive: true,
  maxSockets: 16,
  agentKeepAliveTimeoutBuffer: KEEP_ALIVE_MARGIN_MS,
} as http.AgentOptions);

/** Sends again a request that failed on a kept connection the server had closed (as the bridge does). */
async function again<T>(send: () => Promise<T>): Promise<T> {
  for (let retries = 0; ; retries++) {
    try {
      return await send();
    } catch (err) {
      if (retries >= STALE_SOCKET_RETRIES || !(err as { stale?: boolean }).stale) throw err;
    }
  }
}

const stale = (req: http.ClientRequest, err: Error): Error =>
  Object.assign(err, { stale: staleSocket(err, req) });

function plainGet(url: string): Promise<Buffer> {
  return again(() => plainGetOnce(url));
}

function plainGetOnce(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http
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
      .on('error', (err) => reject(stale(req, err)));
  });
}

function plainPost(url: string, body: Buffer): Promise<void> {
  return again(() => plainPostOnce(url, body));
}

function plainPostOnce(url: string, body: Buffer): Promise<void> {
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
    req.on('error', (err) => reject(stale(req, err)));
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

/**
 * How the `bridge` command starts node: the environment and flags of its shebang, read from
 * src/cli.ts, so the benchmark runs it the same way; BENCH_BRIDGE_NODE_FLAGS replaces the flags
 * for an experiment (and `--bridge-env` sets more environment).
 */
const SHEBANG = readFileSync(path.resolve(__dirname, '../src/cli.ts'), 'utf8')
  .split('\n')[0]!
  .replace(/^#!\/usr\/bin\/env -S /, '')
  .split(' ')
  .filter(Boolean);
const NODE_AT = SHEBANG.indexOf('node');
export const BRIDGE_NODE_ENV: Record<string, string> = Object.fromEntries(
  SHEBANG.slice(0, NODE_AT).map((kv) => kv.split(/=(.*)/s).slice(0, 2) as [string, string]),
);
export const BRIDGE_NODE_FLAGS = process.env.BENCH_BRIDGE_NODE_FLAGS
  ? process.env.BENCH_BRIDGE_NODE_FLAGS.split(' ').filter(Boolean)
  : SHEBANG.slice(NODE_AT + 1);

/** Runs `bridge run --once` in its own process; returns seconds and peak RSS (VmHWM) in bytes. */
async function runBridge(
  clinical: string,
  research: string,
  extraEnv: Record<string, string> = {},
): Promise<{ seconds: number; peakRss: number; out: string; cpu: number }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-bridge-'));
  const t0 = process.hrtime.bigint();
  const profile = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args.profile)}`] : [];
  const child = spawn(process.execPath, [...BRIDGE_NODE_FLAGS, ...profile, CLI, 'run', '--once'], {
    env: {
      ...BRIDGE_NODE_ENV,
      PATH: process.env.PATH,
      BRIDGE_SOURCE_URL: clinical,
      BRIDGE_RESEARCH_URL: research,
      BRIDGE_DATA_DIR: dataDir,
      BRIDGE_SECRET: SECRET,
      BRIDGE_CONCURRENCY: String(CONCURRENCY),
      BRIDGE_LOG_LEVEL: 'warn',
      ...Object.fromEntries((args['bridge-env'] ?? []).map((kv) => kv.split(/=(.*)/s).slice(0, 2))),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  let peak = 0;
  let cpu = 0;
  const sampler = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      cpu = Math.max(cpu, cpuOf(child.pid!));
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
    cpu,
    out: `${out.trim()}\n  stage totals (ms, summed over instances): ${JSON.stringify(stages)}`,
  };
}

async function upload(clinical: TestOrthanc, files: Buffer[]): Promise<string[]> {
  const studies = new Set<string>();
  await mapPool(files, 4, async (b) => studies.add((await clinical.upload(b)).ParentStudy));
  await clinical.waitStable([...studies]);
  return [...studies];
}

/** Generates the corpus patient by patient (bounded memory) and uploads it; waits until stable. */
async function uploadCorpus(
  clinical: TestOrthanc,
  source: OrthancClient,
  patientCount: number,
): Promise<{
  patients: number;
  studies: string[];
  instanceIds: string[];
  totalBytes: number;
  largest: number;
}> {
  let totalBytes = 0;
  let largest = 0;
  const studies = new Set<string>();
  for (const [i, p] of samplePatients(patientCount).entries()) {
    const files = [
      ...makeCtStudy(p, {
        studyIndex: 1,
        studyDate: '20240110',
        slices: Number(args['ct-slices']),
        size: 512,
      }),
      ...makeMammoStudy(p, {
        studyIndex: 2,
        studyDate: `2024031${i % 10}`,
        mammoRows: Number(args['mammo-rows']),
        mammoColumns: Number(args['mammo-columns']),
      }),
    ].map((x) => x.bytes);
    for (const b of files) {
      totalBytes += b.length;
      largest = Math.max(largest, b.length);
    }
    for (const id of await upload(clinical, files)) studies.add(id);
  }
  return {
    patients: patientCount,
    studies: [...studies],
    instanceIds: await source.getJson<string[]>('/instances'),
    totalBytes,
    largest,
  };
}

interface Measured {
  readonly floor: number;
  readonly axiosCopy: number;
  readonly clientCopy: number;
  readonly orthancTime: number;
  readonly orthancCount: number;
  readonly bridge: { seconds: number; peakRss: number; out: string; cpu: number };
  readonly bridgeCount: number;
  /** CPU seconds per process during (a) the floor, (b) Orthanc's built-in and (c) the bridge. */
  readonly cpu: Record<
    'floor' | 'orthanc' | 'bridge',
    { client: number; clinical: number; research: number }
  >;
}

interface Servers {
  readonly clinicalOrthanc: TestOrthanc;
  readonly research: TestOrthanc;
  readonly source: OrthancClient;
  readonly target: OrthancClient;
  readonly instanceIds: readonly string[];
  readonly studies: readonly string[];
}

/** CPU seconds each process spends while `fn` runs; `client` is this process's own (the floor's copy). */
async function withCpu<T>(
  s: Servers,
  fn: () => Promise<T>,
): Promise<[T, { client: number; clinical: number; research: number }]> {
  const c0 = cpuOfOrthanc(s.clinicalOrthanc);
  const r0 = cpuOfOrthanc(s.research);
  const u0 = process.cpuUsage();
  const out = await fn();
  const u = process.cpuUsage(u0);
  return [
    out,
    {
      client: (u.user + u.system) / 1e6,
      clinical: cpuOfOrthanc(s.clinicalOrthanc) - c0,
      research: cpuOfOrthanc(s.research) - r0,
    },
  ];
}

async function measure(s: Servers): Promise<Measured> {
  const { clinicalOrthanc, research, source, target, instanceIds, studies } = s;
  // (a) the floor: the leanest copy Node has (node:http, keep-alive, chunks concatenated once),
  // then the same copy through axios, then through the bridge's own client.
  const [[, floor], floorCpu] = await withCpu(s, () =>
    time(() =>
      mapPool(instanceIds, CONCURRENCY, async (id) => {
        const bytes = await plainGet(`${clinicalOrthanc.url}/instances/${id}/file`);
        await plainPost(`${research.url}/instances`, bytes);
      }),
    ),
  );
  await cleanResearch(target);
  const ax = axios.create({
    httpAgent: httpAgent({ maxSockets: 16 }),
    maxBodyLength: Infinity,
    maxContentLength: Infinity,
    proxy: false,
  });
  retryStaleSockets(ax);
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
  const [[, orthancTime], orthancCpu] = await withCpu(s, () =>
    time(() =>
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
    ),
  );
  for (const id of made) await del(source, `/studies/${id}`);
  const orthancCount = (await target.getJson<string[]>('/instances')).length;
  await cleanResearch(target);

  // (c) the bridge, from the change events (its own CPU read from /proc until it exits)
  const [bridge, bridgeCpu] = await withCpu(s, () => runBridge(clinicalOrthanc.url, research.url));
  const bridgeCount = (await target.getJson<string[]>('/instances')).length;
  await cleanResearch(target);
  return {
    floor,
    axiosCopy,
    clientCopy,
    orthancTime,
    orthancCount,
    bridge,
    bridgeCount,
    cpu: {
      floor: floorCpu,
      orthanc: { ...orthancCpu, client: 0 },
      bridge: { ...bridgeCpu, client: bridge.cpu },
    },
  };
}

/** The bridge process's CPU seconds over the plain copy's (issue 26: at most 2.0). */
function cpuRatio(m: Measured): number {
  return m.bridge.cpu / m.cpu.floor.client;
}

function report(m: Measured, instances: number, totalBytes: number, largest: number): void {
  const row = (name: string, s: number): string =>
    `  ${name.padEnd(34)} ${s.toFixed(2).padStart(8)} s ${(instances / s).toFixed(1).padStart(8)} inst/s ${(totalBytes / 1e6 / s).toFixed(1).padStart(8)} MB/s`;
  const cpu = (c: { client: number; clinical: number; research: number }, who: string): string =>
    `   CPU s: ${who} ${c.client.toFixed(1)}, clinical ${c.clinical.toFixed(1)}, research ${c.research.toFixed(1)}` +
    ` (sum ${(c.client + c.clinical + c.research).toFixed(1)}: at least ${((c.client + c.clinical + c.research) / os.cpus().length).toFixed(2)} s on ${os.cpus().length} cores)`;
  log(row('(a) floor: node:http copy', m.floor) + cpu(m.cpu.floor, 'copy'));
  log(
    row('    the same copy through axios', m.axiosCopy) + `   (${(m.axiosCopy / m.floor).toFixed(2)}x floor)`,
  );
  log(
    row("    through the bridge's client", m.clientCopy) +
      `   (${(m.clientCopy / m.floor).toFixed(2)}x floor)`,
  );
  log(
    row(`(b) Orthanc anonymize + peer store`, m.orthancTime) +
      `   (${m.orthancCount} instances arrived)` +
      cpu(m.cpu.orthanc, '-'),
  );
  log(
    row('(c) bridge, from the change events', m.bridge.seconds) +
      `   (${m.bridgeCount} instances arrived)` +
      cpu(m.cpu.bridge, 'bridge'),
  );
  log(`  bridge / floor:   ${(m.bridge.seconds / m.floor).toFixed(2)}x   (target <= 1.5x)`);
  log(`  bridge / Orthanc: ${(m.bridge.seconds / m.orthancTime).toFixed(2)}x   (target <= 0.6x)`);
  log(`  bridge CPU / copy CPU: ${cpuRatio(m).toFixed(2)}x   (target <= 2.0x)`);
  log(
    `  bridge peak RSS:  ${mb(m.bridge.peakRss)} MB   (bound 2 x largest + 200 = ${mb(2 * largest + 200e6)} MB)`,
  );
  log(`  bridge said:      ${m.bridge.out}`);
}

/** Min, median and max of each figure over the runs. */
function spread(runs: readonly Measured[]): void {
  const stat = (name: string, xs: number[], unit: string, digits = 2): void => {
    const v = [...xs].sort((a, b) => a - b);
    log(
      `  ${name.padEnd(24)} min ${v[0]!.toFixed(digits)}${unit}  median ${v[Math.floor(v.length / 2)]!.toFixed(digits)}${unit}  max ${v[v.length - 1]!.toFixed(digits)}${unit}`,
    );
  };
  log(`spread over ${runs.length} runs:`);
  stat(
    'floor',
    runs.map((r) => r.floor),
    ' s',
  );
  stat(
    'Orthanc built-in',
    runs.map((r) => r.orthancTime),
    ' s',
  );
  stat(
    'bridge',
    runs.map((r) => r.bridge.seconds),
    ' s',
  );
  stat(
    'bridge / floor',
    runs.map((r) => r.bridge.seconds / r.floor),
    'x',
  );
  stat(
    'bridge / Orthanc',
    runs.map((r) => r.bridge.seconds / r.orthancTime),
    'x',
  );
  stat(
    'bridge CPU',
    runs.map((r) => r.bridge.cpu),
    ' s',
    1,
  );
  stat(
    'copy CPU',
    runs.map((r) => r.cpu.floor.client),
    ' s',
    1,
  );
  stat('bridge CPU / copy CPU', runs.map(cpuRatio), 'x');
  stat(
    'bridge peak RSS',
    runs.map((r) => r.bridge.peakRss / 1e6),
    ' MB',
    1,
  );
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
    const { patients, studies, instanceIds, totalBytes, largest } = await uploadCorpus(
      clinicalOrthanc,
      source,
      Number(args.patients),
    );
    log(
      `corpus: ${patients} patients, ${studies.length} studies, ${instanceIds.length} instances, ${mb(totalBytes)} MB, largest ${mb(largest)} MB`,
    );
    if (args.scale) {
      // The corpus at 1x, 4x, 16x...: the same measurement on each, one row per size.
      const rows: string[] = [];
      for (const factor of args.scale.split(',').map(Number)) {
        for (const st of await source.getJson<string[]>('/studies')) await del(source, `/studies/${st}`);
        const c = await uploadCorpus(clinicalOrthanc, source, Number(args.patients) * factor);
        const m = await measure({ clinicalOrthanc, research, source, target, ...c });
        log(`scale ${factor}x: ${c.instanceIds.length} instances, ${mb(c.totalBytes)} MB`);
        report(m, c.instanceIds.length, c.totalBytes, c.largest);
        rows.push(
          `  ${`${factor}x`.padStart(4)} ${String(c.instanceIds.length).padStart(6)} inst ${mb(c.totalBytes).padStart(8)} MB   floor ${(c.instanceIds.length / m.floor).toFixed(1).padStart(6)} inst/s   Orthanc ${(c.instanceIds.length / m.orthancTime).toFixed(1).padStart(6)} inst/s   bridge ${(c.instanceIds.length / m.bridge.seconds).toFixed(1).padStart(6)} inst/s   bridge/floor ${(m.bridge.seconds / m.floor).toFixed(2)}x   bridge/Orthanc ${(m.bridge.seconds / m.orthancTime).toFixed(2)}x   peak RSS ${mb(m.bridge.peakRss)} MB`,
        );
      }
      log('scale:');
      for (const r of rows) log(r);
      return;
    }
    if (args.destinations) {
      await destinationBench({
        clinicalUrl: clinicalOrthanc.url,
        instances: instanceIds.length,
        bytes: totalBytes,
        runBridge: (env) => runBridge(clinicalOrthanc.url, research.url, env),
        log,
      });
      return;
    }
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
        nodeFlags: BRIDGE_NODE_FLAGS,
        nodeEnv: BRIDGE_NODE_ENV,
        cleanResearch: () => cleanResearch(target),
        log,
      });
      return;
    }

    // (a)-(c), --runs times: each run's figures, then the spread.
    const runs: Measured[] = [];
    for (let r = 1; r <= Number(args.runs); r++) {
      const m = await measure({ clinicalOrthanc, research, source, target, instanceIds, studies });
      runs.push(m);
      log(`run ${r} of ${args.runs}:`);
      report(m, instanceIds.length, totalBytes, largest);
    }
    if (runs.length > 1) spread(runs);

    // Latency: stable -> last instance confirmed on research, four-view mammography, daemon running
    await cleanResearch(target);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-latency-'));
    const apiPort = 20000 + Math.floor(Math.random() * 20000);
    const daemon = spawn(process.execPath, [...BRIDGE_NODE_FLAGS, CLI, 'run'], {
      env: {
        ...BRIDGE_NODE_ENV,
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
