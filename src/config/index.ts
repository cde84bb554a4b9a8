import { ConfigError } from '../errors';
import { entryOfKeyword } from '../dicom/dictionary';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import cron from 'node-cron';
import { z } from 'zod';
import { buildProfile, findProfileFile, ProfileError, type ProfileConfig } from './profiles';
import { fileConfigSchema, inlineProfile, profileBody, profileName, type FileConfig } from './schema';

export { ConfigError };

export interface OrthancServerConfig {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly timeoutMs: number;
  /** Extra trusted CA certificates (PEM) for HTTPS to this Orthanc. */
  readonly ca?: string;
  /** Where a browser reaches this Orthanc (Explorer links); `url` unless configured. */
  readonly explorerUrl: string;
  readonly folderSink?: { readonly dir: string; readonly pattern: string; readonly fileMode: number };
}

export type { ProfileConfig };

export interface RouteConfig {
  readonly name: string;
  readonly match: FileConfig['routes'][number]['match'];
  readonly profile: string;
  readonly destinations: readonly string[];
}

/** API credentials: an operator token for every protected route, an admin token for the sensitive ones. */
export interface ApiCredentials {
  readonly operatorToken?: string;
  readonly adminToken?: string;
}

/** A metadata export column: the DICOM keyword and its tag ("GGGGEEEE"). */
export interface ExportTag {
  readonly keyword: string;
  readonly tag: string;
}

/** The one resolved configuration, validated once at start and frozen. */
export interface ResolvedConfig extends Omit<
  FileConfig,
  'source' | 'research' | 'export' | 'destinations' | 'profiles' | 'routes' | 'profile'
> {
  /** The main profile's name. */
  readonly profile: string;
  readonly source: OrthancServerConfig;
  readonly research: OrthancServerConfig;
  /** Every research destination by name, `research` included. */
  readonly destinations: Readonly<Record<string, OrthancServerConfig>>;
  /** Every profile by name, the main `profile` included. */
  readonly profiles: Readonly<Record<string, ProfileConfig>>;
  /** Routing rules in order; without configured rules, one rule sends everything to `research`. */
  readonly routes: readonly RouteConfig[];
  readonly credentials: ApiCredentials;
  /** The re-identification public key (PEM), when reversible pseudonyms are configured. */
  readonly reidPublicKeyPem?: string;
  readonly export: { readonly metadataTags: readonly ExportTag[] };
  /** The project secret every key is derived from. Never logged, never shown. */
  readonly secret: string;
  /** What an operator should fix but the bridge can run with (weak tokens, readable secret files): logged at start. */
  readonly warnings: readonly string[];
  /** Where the config came from, for `bridge status` and the logs (paths only). */
  readonly sources: readonly string[];
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadOptions {
  readonly env: Env;
  /** `--config` from the command line; wins over BRIDGE_CONFIG. */
  readonly configPath?: string;
  /** Folder holding default.json; the package's own config/ by default. */
  readonly defaultsDir?: string;
  readonly cwd?: string;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over))
    out[k] = isObject(v) && isObject(out[k]) ? merge(out[k] as Json, v) : v;
  return out;
}

function readJson(file: string, what: string): Json {
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

/** Secret files read, with what is wrong with their permissions (loadConfig turns them into warnings). */
function readSecretFile(file: string, setting: string, warnings?: string[]): string {
  try {
    const text = readFileSync(file, 'utf8').trim();
    const mode = statSync(file).mode;
    if (warnings && mode & 0o077)
      warnings.push(
        `${setting}: ${file} can be read by other accounts (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
      );
    return text;
  } catch (err) {
    throw new ConfigError(
      `${setting}: the file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

function formatIssue(issue: z.core.$ZodIssue, origin: Map<string, string>): string {
  const key = issue.path.join('.');
  const from = origin.get(key);
  return `${key || '(top level)'}: ${issue.message}${from ? ` (from ${from})` : ''}`;
}

export function loadConfig(opts: LoadOptions): ResolvedConfig {
  const env = opts.env;
  const cwd = opts.cwd ?? process.cwd();
  const defaultsDir = opts.defaultsDir ?? path.resolve(__dirname, '../../config');
  const defaultsFile = path.join(defaultsDir, 'default.json');
  const sources: string[] = [];
  let raw: Json = {};
  if (existsSync(defaultsFile)) {
    raw = readJson(defaultsFile, 'default config');
    sources.push(defaultsFile);
  }
  const extra = opts.configPath ?? env.BRIDGE_CONFIG;
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
  const cfg = parsed.data;
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
  let secret = env.BRIDGE_SECRET;
  if (!secret && env.BRIDGE_SECRET_FILE)
    secret = readSecretFile(path.resolve(cwd, env.BRIDGE_SECRET_FILE), 'BRIDGE_SECRET_FILE', warnings);
  if (!secret)
    throw new ConfigError(
      'BRIDGE_SECRET or BRIDGE_SECRET_FILE is required: every pseudonym, UID and date shift is keyed by it',
    );
  if (Buffer.byteLength(secret, 'utf8') < 16)
    throw new ConfigError(
      'the project secret (BRIDGE_SECRET / BRIDGE_SECRET_FILE) must be at least 16 bytes',
    );

  const server = (s: FileConfig['source'], prefix: string): OrthancServerConfig => {
    const passwordFile = env[`${prefix}_PASSWORD_FILE`] || s.passwordFile;
    const password =
      env[`${prefix}_PASSWORD`] ||
      (passwordFile
        ? readSecretFile(path.resolve(cwd, passwordFile), `${prefix}_PASSWORD_FILE`, warnings)
        : undefined);
    if (password && !s.username)
      throw new ConfigError(`${prefix}_USERNAME: a password is set but no username`);
    for (const [setting, url] of [
      [`${prefix}_URL`, s.url],
      [`${prefix}_EXPLORER_URL`, s.explorerUrl],
    ] as const) {
      if (url === undefined) continue;
      let parsedUrl: URL;
      try {
        parsedUrl = new URL(url);
      } catch {
        throw new ConfigError(`${setting}: not a URL`);
      }
      // A password in a URL ends up on screens, in logs and in process listings.
      if (parsedUrl.username || parsedUrl.password)
        throw new ConfigError(
          `${setting}: a URL may not hold a user name or password; use ${prefix}_USERNAME and ${prefix}_PASSWORD(_FILE)`,
        );
    }
    const sink = s.folderSink
      ? {
          dir: path.resolve(cwd, s.folderSink.dir),
          pattern: s.folderSink.pattern,
          fileMode: parseInt(s.folderSink.fileMode, 8),
        }
      : undefined;
    let ca: string | undefined;
    if (s.caFile) {
      ca = readSecretFile(path.resolve(cwd, s.caFile), `${prefix}_CA_FILE`);
      if (!ca.includes('-----BEGIN CERTIFICATE-----'))
        throw new ConfigError(`${prefix}_CA_FILE: ${s.caFile} holds no PEM certificate`);
    }
    return Object.freeze({
      url: s.url,
      username: s.username,
      password,
      ca,
      timeoutMs: s.timeoutMs,
      explorerUrl: s.explorerUrl ?? s.url,
      folderSink: sink,
    });
  };

  const destinations: Record<string, OrthancServerConfig> = {
    research: server(cfg.research, 'BRIDGE_RESEARCH'),
  };
  for (const [name, d] of Object.entries(cfg.destinations)) {
    destinations[name] = server(d, `BRIDGE_DEST_${name.toUpperCase().replace(/-/g, '_')}`);
  }
  const profileDirs = [
    ...(cfg.profilesDir ? [path.resolve(cwd, cfg.profilesDir)] : []),
    path.join(defaultsDir, 'profiles'),
  ];
  const profiles: Record<string, ProfileConfig> = {};
  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ProfileError) throw new ConfigError(err.message);
      throw err;
    }
  };
  /** A named profile: inline in `profiles`, else a file in the profile folders; undefined if none. */
  const profileByName = (name: string): ProfileConfig | undefined => {
    if (profiles[name]) return profiles[name];
    const inline = cfg.profiles[name];
    if (inline) return (profiles[name] = guard(() => buildProfile(name, inline, 'inline')));
    const file = findProfileFile(name, profileDirs);
    if (!file) return undefined;
    const parsed = profileBody.safeParse(readJson(file, `profile "${name}"`));
    if (!parsed.success)
      throw new ConfigError(
        `profile "${name}" (${file}) is invalid:\n  ` +
          parsed.error.issues.map((i) => formatIssue(i, new Map())).join('\n  '),
      );
    return (profiles[name] = guard(() => buildProfile(name, parsed.data, file)));
  };
  let mainProfile: string;
  const parsedMain = (typeof cfg.profile === 'string' ? profileName : inlineProfile).safeParse(cfg.profile);
  if (!parsedMain.success)
    throw new ConfigError(
      'invalid configuration:\n  ' +
        parsedMain.error.issues
          .map((i) => formatIssue({ ...i, path: ['profile', ...i.path] }, origin))
          .join('\n  '),
    );
  if (typeof parsedMain.data === 'string') {
    mainProfile = parsedMain.data;
    if (!profileByName(mainProfile))
      throw new ConfigError(
        `profile: no profile named "${mainProfile}" in ${profileDirs.join(' or ')} (nor under profiles)`,
      );
  } else {
    const { name, ...body } = parsedMain.data;
    mainProfile = name;
    if (cfg.profiles[name]) throw new ConfigError(`profiles.${name}: the main profile already has this name`);
    profiles[name] = guard(() => buildProfile(name, body, 'inline'));
  }
  for (const name of Object.keys(cfg.profiles)) profileByName(name);
  const routes: RouteConfig[] = (
    cfg.routes.length > 0 ? cfg.routes : [{ name: 'default', match: {}, destinations: ['research'] }]
  ).map((r, i) => {
    const profile = r.profile ?? mainProfile;
    if (!profileByName(profile))
      throw new ConfigError(`routes.${i}.profile: no profile named "${profile}" (inline or as a file)`);
    for (const d of r.destinations) {
      if (!destinations[d]) throw new ConfigError(`routes.${i}.destinations: no destination named "${d}"`);
    }
    const { minPatientAgeYears: lo, maxPatientAgeYears: hi } = r.match;
    if (lo !== undefined && hi !== undefined && lo > hi)
      throw new ConfigError(`routes.${i}.match: minPatientAgeYears is above maxPatientAgeYears`);
    return { name: r.name, match: r.match, profile, destinations: [...new Set(r.destinations)] };
  });
  const names = routes.map((r) => r.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ConfigError(`routes: two rules are named "${dup}"`);

  const token = (name: string): string | undefined => {
    const v =
      env[name] ||
      (env[`${name}_FILE`]
        ? readSecretFile(path.resolve(cwd, env[`${name}_FILE`]!), `${name}_FILE`, warnings)
        : undefined);
    if (v !== undefined && Buffer.byteLength(v) < 16)
      throw new ConfigError(`${name}: an API token must be at least 16 bytes`);
    if (v !== undefined && tokenBits(v) < 96)
      warnings.push(
        `${name}: the token looks guessable (about ${Math.floor(tokenBits(v))} bits); use 32 random bytes, e.g. openssl rand -hex 32`,
      );
    return v;
  };
  let reidPem: string | undefined;
  if (cfg.reidentification.publicKeyFile) {
    reidPem = readSecretFile(
      path.resolve(cwd, cfg.reidentification.publicKeyFile),
      'reidentification.publicKeyFile',
    );
    if (!reidPem.includes('-----BEGIN PUBLIC KEY-----'))
      throw new ConfigError(
        `reidentification.publicKeyFile: ${cfg.reidentification.publicKeyFile} holds no PEM public key${reidPem.includes('PRIVATE KEY') ? ' (it holds a PRIVATE key: keep that one offline and give the daemon the public key)' : ''}`,
      );
  }
  const credentials = { operatorToken: token('BRIDGE_API_TOKEN'), adminToken: token('BRIDGE_ADMIN_TOKEN') };
  if (credentials.operatorToken !== undefined && credentials.operatorToken === credentials.adminToken)
    throw new ConfigError(
      'BRIDGE_API_TOKEN and BRIDGE_ADMIN_TOKEN are the same: the operator would be an admin; give each its own token',
    );

  return deepFreeze({
    ...cfg,
    profile: mainProfile,
    reidPublicKeyPem: reidPem,
    dataDir: path.resolve(cwd, cfg.dataDir),
    source: server(cfg.source, 'BRIDGE_SOURCE'),
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

/**
 * A rough strength of a token in bits: its length times the entropy of its own characters. A
 * random hex token of 64 characters scores about 250, of 32 about 115, a random 16-character one
 * about 55; "aaaaaaaaaaaaaaaa" scores 0. Below 96 the bridge warns.
 */
export function tokenBits(token: string): number {
  const counts = new Map<string, number>();
  for (const ch of token) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) perChar -= (n / token.length) * Math.log2(n / token.length);
  return perChar * token.length;
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
    credentials: {
      operatorToken: cfg.credentials.operatorToken ? '***' : undefined,
      adminToken: cfg.credentials.adminToken ? '***' : undefined,
    },
    source: mask(cfg.source),
    research: mask(cfg.research),
    destinations: Object.fromEntries(Object.entries(cfg.destinations).map(([k, v]) => [k, mask(v)])),
  };
}
