/**
 * Prometheus metrics, loaded only when the daemon serves its API (`run --once` and the CLI never
 * load prom-client). Counters and histograms are fed by the pipeline through src/metrics.ts;
 * gauges read the shared store when scraped. Labels carry stages and outcomes only, never
 * identifiers or values.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { setMetricsSink } from '../metrics';

export const registry = new Registry();

const counters = {
  instances: new Counter({
    name: 'bridge_instances_total',
    help: 'Instances processed, by outcome',
    labelNames: ['outcome', 'destination'] as const,
    registers: [registry],
  }),
  bytes: new Counter({
    name: 'bridge_bytes_total',
    help: 'DICOM bytes moved, by direction',
    labelNames: ['direction'] as const,
    registers: [registry],
  }),
  studies: new Counter({
    name: 'bridge_studies_total',
    help: 'Study jobs finished, by end state',
    labelNames: ['state'] as const,
    registers: [registry],
  }),
};

const stageSeconds = new Histogram({
  name: 'bridge_stage_duration_seconds',
  help: 'Time per instance spent in each pipeline stage',
  labelNames: ['stage'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

setMetricsSink({
  inc: (name, labels, value) => (counters[name] as Counter<string>).inc(labels, value),
  observe: (labels, seconds) => stageSeconds.observe(labels, seconds),
});

/** What the gauges show, read from the shared store at scrape time. */
export interface GaugeReading {
  readonly queueDepth: number;
  readonly quarantineOpen: number;
  readonly feedLag: number | null;
  readonly replicas: ReadonlyArray<{ id: string; role: string; alive: boolean; runningJobs: number }>;
  readonly destinations: ReadonlyArray<{ name: string; kind: string; proves: string }>;
}

/** Gauges whose values come from the app at scrape time (one read per scrape, shared by all of them). */
export function registerGauges(read: () => Promise<GaugeReading>): void {
  const names = [
    'bridge_queue_depth',
    'bridge_quarantine_open',
    'bridge_change_feed_lag',
    'bridge_replicas_alive',
    'bridge_replica_running_jobs',
    'bridge_replica_leader',
    'bridge_destination_info',
  ];
  for (const name of names) registry.removeSingleMetric(name);
  let reading: { at: number; value: Promise<GaugeReading> } | null = null;
  const current = (): Promise<GaugeReading> => {
    if (!reading || Date.now() - reading.at > 1000) reading = { at: Date.now(), value: read() };
    return reading.value;
  };
  new Gauge({
    name: 'bridge_queue_depth',
    help: 'Study jobs queued or running (all replicas)',
    registers: [registry],
    async collect() {
      this.set((await current()).queueDepth);
    },
  });
  new Gauge({
    name: 'bridge_quarantine_open',
    help: 'Instances in quarantine (open entries)',
    registers: [registry],
    async collect() {
      this.set((await current()).quarantineOpen);
    },
  });
  new Gauge({
    name: 'bridge_change_feed_lag',
    help: 'Changes in the clinical Orthanc log not read yet',
    registers: [registry],
    async collect() {
      const lag = (await current()).feedLag;
      if (lag !== null) this.set(lag);
    },
  });
  new Gauge({
    name: 'bridge_replicas_alive',
    help: 'Replicas seen within their lease',
    registers: [registry],
    async collect() {
      this.set((await current()).replicas.filter((r) => r.alive).length);
    },
  });
  new Gauge({
    name: 'bridge_replica_running_jobs',
    help: 'Study jobs each live replica runs now',
    labelNames: ['replica'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await current()).replicas) if (r.alive) this.set({ replica: r.id }, r.runningJobs);
    },
  });
  new Gauge({
    name: 'bridge_destination_info',
    help: 'Each research destination (always 1): its kind and what its confirmation proves',
    labelNames: ['destination', 'kind', 'proves'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const d of (await current()).destinations)
        this.set({ destination: d.name, kind: d.kind, proves: d.proves }, 1);
    },
  });
  new Gauge({
    name: 'bridge_replica_leader',
    help: '1 for the replica that follows the change log',
    labelNames: ['replica'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of (await current()).replicas)
        if (r.alive) this.set({ replica: r.id }, r.role === 'leader' ? 1 : 0);
    },
  });
}
