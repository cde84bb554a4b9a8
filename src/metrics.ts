import { Counter, Histogram, Registry, Gauge } from 'prom-client';

/**
 * Prometheus metrics. Counters and histograms are process-wide; gauges read the store when
 * scraped. Labels carry stages and outcomes only, never identifiers or values.
 */
export const registry = new Registry();

export const instancesTotal = new Counter({
  name: 'bridge_instances_total',
  help: 'Instances processed, by outcome',
  labelNames: ['outcome', 'destination'] as const,
  registers: [registry],
});

export const bytesTotal = new Counter({
  name: 'bridge_bytes_total',
  help: 'DICOM bytes moved, by direction',
  labelNames: ['direction'] as const,
  registers: [registry],
});

export const stageSeconds = new Histogram({
  name: 'bridge_stage_duration_seconds',
  help: 'Time per instance spent in each pipeline stage',
  labelNames: ['stage'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const studiesTotal = new Counter({
  name: 'bridge_studies_total',
  help: 'Study jobs finished, by end state',
  labelNames: ['state'] as const,
  registers: [registry],
});

/** Gauges whose values come from the app at scrape time. */
export function registerGauges(
  read: () => { queueDepth: number; quarantineOpen: number; feedLag: number | null },
): void {
  for (const name of ['bridge_queue_depth', 'bridge_quarantine_open', 'bridge_change_feed_lag'])
    registry.removeSingleMetric(name);
  new Gauge({
    name: 'bridge_queue_depth',
    help: 'Study jobs queued or running',
    registers: [registry],
    collect() {
      this.set(read().queueDepth);
    },
  });
  new Gauge({
    name: 'bridge_quarantine_open',
    help: 'Instances in quarantine (open entries)',
    registers: [registry],
    collect() {
      this.set(read().quarantineOpen);
    },
  });
  new Gauge({
    name: 'bridge_change_feed_lag',
    help: 'Changes in the clinical Orthanc log not read yet',
    registers: [registry],
    collect() {
      const lag = read().feedLag;
      if (lag !== null) this.set(lag);
    },
  });
}
