/**
 * The one resolved configuration: layers (layers.ts), secrets (secrets.ts), servers (servers.ts),
 * profiles and routes (routes.ts), frozen. The process environment is read here only, through the
 * `env` the entry point hands over.
 */
import path from 'node:path';
import cron from 'node-cron';
import { entryOfKeyword } from '../dicom/dictionary';
import { ConfigError } from '../errors';
import { isObject, readLayers } from './layers';
import { resolveProfilesAndRoutes } from './routes';
import { resolveCredentials, resolveReidKey, resolveSecret } from './secrets';
import { resolveServers } from './servers';
import { resolveReplica, resolveState } from './state';
import type { LoadOptions, OrthancServerConfig, ResolvedConfig } from './types';

export { ConfigError };
export { tokenBits } from './secrets';
export type { ProfileConfig } from './profiles';
export type * from './types';

type Json = Record<string, unknown>;

export function loadConfig(opts: LoadOptions): ResolvedConfig {
  const env = opts.env;
  const cwd = opts.cwd ?? process.cwd();
  const defaultsDir = opts.defaultsDir ?? path.resolve(__dirname, '../../config');
  const { cfg, origin, sources } = readLayers(env, cwd, defaultsDir, opts.configPath);
  for (const [name, expr] of Object.entries(cfg.schedules)) {
    if (expr !== null && !cron.validate(expr))
      throw new ConfigError(`schedules.${name}: "${expr}" is not a valid cron expression`);
  }
  if (cfg.source.folderSink)
    throw new ConfigError('source.folderSink: a folder sink belongs to a research destination');
  const metadataTags = cfg.export.metadataTags.map((keyword, i) => {
    const entry = entryOfKeyword(keyword);
    if (!entry) throw new ConfigError(`export.metadataTags.${i}: "${keyword}" is not a DICOM keyword`);
    return { keyword, tag: entry.tag };
  });
  const warnings: string[] = [];
  const secret = resolveSecret(env, cwd, warnings);
  const { source, destinations } = resolveServers(cfg, env, cwd, warnings);
  const { profiles, mainProfile, routes } = resolveProfilesAndRoutes(
    cfg,
    cwd,
    defaultsDir,
    origin,
    destinations,
  );
  const reidPem = resolveReidKey(cfg, cwd);
  const credentials = resolveCredentials(env, cwd, warnings);
  const state = resolveState(cfg, env, cwd, warnings);
  const dataDir = path.resolve(cwd, cfg.dataDir);
  return deepFreeze({
    ...cfg,
    state,
    replica: resolveReplica(cfg),
    reportsDir: cfg.reportsDir ? path.resolve(cwd, cfg.reportsDir) : dataDir,
    profile: mainProfile,
    reidPublicKeyPem: reidPem,
    dataDir,
    source,
    research: destinations.research!,
    destinations,
    profiles,
    routes,
    credentials,
    export: { metadataTags },
    secret,
    sources,
    warnings,
  });
}

function deepFreeze<T>(value: T): T {
  if (isObject(value)) for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}

/** The config as it may be shown: secrets replaced. */
export function redactedConfig(cfg: ResolvedConfig): Json {
  const mask = (s: OrthancServerConfig): Json => ({
    ...s,
    password: s.password ? '***' : undefined,
    ca: s.ca ? '(PEM)' : undefined,
  });
  return {
    ...cfg,
    secret: '***',
    state: cfg.state
      ? {
          ...cfg.state,
          password: cfg.state.password ? '***' : undefined,
          ca: cfg.state.ca ? '(PEM)' : undefined,
        }
      : undefined,
    credentials: {
      operatorToken: cfg.credentials.operatorToken ? '***' : undefined,
      adminToken: cfg.credentials.adminToken ? '***' : undefined,
    },
    source: mask(cfg.source),
    research: mask(cfg.research),
    destinations: Object.fromEntries(Object.entries(cfg.destinations).map(([k, v]) => [k, mask(v)])),
  };
}
