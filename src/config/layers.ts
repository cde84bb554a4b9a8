/**
 * The configuration's layers: config/default.json, then a config file (--config or BRIDGE_CONFIG),
 * then BRIDGE_* environment variables, validated into the file config type. Errors name the
 * setting and, for a variable, the variable.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors';
import { fileConfigSchema, type FileConfig } from './schema';
import type { Env } from './types';

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over))
    out[k] = isObject(v) && isObject(out[k]) ? merge(out[k] as Json, v) : v;
  return out;
}

export function readJson(file: string, what: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${what} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isObject(parsed)) throw new ConfigError('the top level is not an object');
    return parsed;
  } catch (err) {
    throw new ConfigError(`${what} ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function setPath(obj: Json, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(cur[k])) cur[k] = {};
    cur = cur[k] as Json;
  }
  cur[keys[keys.length - 1]!] = value;
}

/** Environment variables and the setting each one overrides. */
const ENV_SETTINGS: ReadonlyArray<[string, string, 'string' | 'int']> = [
  ['BRIDGE_SOURCE_URL', 'source.url', 'string'],
  ['BRIDGE_SOURCE_USERNAME', 'source.username', 'string'],
  ['BRIDGE_RESEARCH_URL', 'research.url', 'string'],
  ['BRIDGE_RESEARCH_USERNAME', 'research.username', 'string'],
  ['BRIDGE_SOURCE_EXPLORER_URL', 'source.explorerUrl', 'string'],
  ['BRIDGE_SOURCE_CA_FILE', 'source.caFile', 'string'],
  ['BRIDGE_RESEARCH_CA_FILE', 'research.caFile', 'string'],
  ['BRIDGE_RESEARCH_EXPLORER_URL', 'research.explorerUrl', 'string'],
  ['BRIDGE_DATA_DIR', 'dataDir', 'string'],
  ['BRIDGE_STATE_URL', 'state.url', 'string'],
  ['BRIDGE_STATE_CA_FILE', 'state.caFile', 'string'],
  ['BRIDGE_REPLICA_ID', 'replica.id', 'string'],
  ['BRIDGE_REPLICA_LEASE_MS', 'replica.leaseMs', 'int'],
  ['BRIDGE_REPLICA_HEARTBEAT_MS', 'replica.heartbeatMs', 'int'],
  ['BRIDGE_REPORTS_DIR', 'reportsDir', 'string'],
  ['BRIDGE_API_PORT', 'api.port', 'int'],
  ['BRIDGE_API_HOST', 'api.host', 'string'],
  ['BRIDGE_LOG_LEVEL', 'log.level', 'string'],
  ['BRIDGE_CONCURRENCY', 'pipeline.concurrency', 'int'],
  ['BRIDGE_MEMORY_BUDGET_MB', 'pipeline.memoryBudgetMb', 'int'],
  ['BRIDGE_MAX_INFLATED_MB', 'pipeline.maxInflatedMb', 'int'],
  ['BRIDGE_STUDY_CONCURRENCY', 'pipeline.studyConcurrency', 'int'],
  ['BRIDGE_POLL_INTERVAL_MS', 'feed.pollIntervalMs', 'int'],
  ['BRIDGE_REID_PUBLIC_KEY_FILE', 'reidentification.publicKeyFile', 'string'],
];

export function formatIssue(issue: z.core.$ZodIssue, origin: Map<string, string>): string {
  const key = issue.path.join('.');
  const from = origin.get(key);
  return `${key || '(top level)'}: ${issue.message}${from ? ` (from ${from})` : ''}`;
}

/** The layers merged and validated; `origin` says which variable set which setting. */
export function readLayers(
  env: Env,
  cwd: string,
  defaultsDir: string,
  configPath: string | undefined,
): { cfg: FileConfig; origin: Map<string, string>; sources: string[] } {
  const defaultsFile = path.join(defaultsDir, 'default.json');
  const sources: string[] = [];
  let raw: Json = {};
  if (existsSync(defaultsFile)) {
    raw = readJson(defaultsFile, 'default config');
    sources.push(defaultsFile);
  }
  const extra = configPath ?? env.BRIDGE_CONFIG;
  if (extra) {
    const file = path.resolve(cwd, extra);
    const over = readJson(file, 'config file');
    for (const forbidden of ['secret', 'password']) {
      if (JSON.stringify(over).includes(`"${forbidden}"`))
        throw new ConfigError(
          `config file ${file}: "${forbidden}" may not be set in a config file; use BRIDGE_SECRET(_FILE) or the *_PASSWORD(_FILE) variables`,
        );
    }
    raw = merge(raw, over);
    sources.push(file);
  }
  const origin = new Map<string, string>();
  for (const [name, setting, kind] of ENV_SETTINGS) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    origin.set(setting, name);
    setPath(raw, setting, kind === 'int' && /^-?\d+$/.test(value) ? Number(value) : value);
  }

  const parsed = fileConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      'invalid configuration:\n  ' + parsed.error.issues.map((i) => formatIssue(i, origin)).join('\n  '),
    );
  }
  return { cfg: parsed.data, origin, sources };
}
