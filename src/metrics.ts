/**
 * What the pipeline counts: instances by outcome, bytes by direction, studies by end state, time
 * per stage. Recording costs nothing until the daemon serves its API, which loads the Prometheus
 * registry (src/api/prometheus.ts) and becomes the sink: `run --once` and the command line never
 * load prom-client. Labels carry stages and outcomes only, never identifiers or values.
 */
export type CounterName = 'instances' | 'bytes' | 'studies';

export interface MetricsSink {
  inc(name: CounterName, labels: Record<string, string>, value: number): void;
  observe(labels: { stage: string }, seconds: number): void;
}

let sink: MetricsSink | null = null;

/** Called once by the Prometheus module when the API loads it. */
export function setMetricsSink(s: MetricsSink): void {
  sink = s;
}

export const instancesTotal = {
  inc: (labels: { outcome: 'pushed' | 'already' | 'quarantined'; destination: string }, value = 1): void =>
    sink?.inc('instances', labels, value),
};

export const bytesTotal = {
  inc: (labels: { direction: 'pulled' | 'pushed' }, value = 1): void => sink?.inc('bytes', labels, value),
};

export const studiesTotal = {
  inc: (labels: { state: string }, value = 1): void => sink?.inc('studies', labels, value),
};

export const stageSeconds = {
  observe: (labels: { stage: string }, seconds: number): void => sink?.observe(labels, seconds),
};
