/**
 * `bridge doctor`: everything a first run needs, checked at once, each problem with its fix.
 * Reads the configuration as `bridge run` would, asks each Orthanc and destination for its version
 * with the configured credentials, asks the clinical Orthanc's Explorer plugin to reach the bridge
 * with its token, reads the state store's schema version without migrating it, and looks at the
 * data folder's free space and the clocks. It changes nothing anywhere.
 */
import { accessSync, constants, statfsSync } from 'node:fs';
import {
  loadConfig,
  type DestinationConfig,
  type LoadOptions,
  type OrthancServerConfig,
  type ResolvedConfig,
} from '../config';
import { openDestination } from '../destinations';
import { nearestExisting } from '../destinations/folderFiles';
import { BridgeError, safeMessage } from '../errors';
import { OrthancClient } from '../orthanc/client';
import { schemaState } from '../store/db';

export interface Finding {
  /** What was checked: "configuration", "research Orthanc", "Explorer plugin"... */
  readonly check: string;
  readonly ok: boolean;
  /** What was found, never a secret. */
  readonly detail: string;
  /** What to do, for a problem. */
  readonly fix?: string;
}

/** Free space under which the data folder is a problem: a study's state and reports need room. */
const MIN_FREE_BYTES = 1024 ** 3;
/** Largest difference between the bridge's clock and an Orthanc's (dates in reports, stable ages). */
const MAX_CLOCK_SKEW_MS = 60_000;
/** A study ID nobody has: the plugin asks the bridge for its state, which needs only the token. */
const PROBE_STUDY = '00000000-00000000-00000000-00000000-00000000';

function client(label: string, s: OrthancServerConfig): OrthancClient {
  return new OrthancClient({ ...s, label, timeoutMs: Math.min(s.timeoutMs, 10_000) });
}

/** One Orthanc: reachable, credentials accepted, its version, and its clock. */
async function orthanc(label: string, s: OrthancServerConfig): Promise<Finding[]> {
  const check = `${label} Orthanc`;
  const c = client(label, s);
  try {
    const version = await c.version();
    const found: Finding[] = [{ check, ok: true, detail: `Orthanc ${version} at ${s.url}` }];
    const clock = await c.clock().catch(() => undefined);
    if (clock !== undefined) {
      const skew = Math.abs(clock - Date.now());
      found.push(
        skew <= MAX_CLOCK_SKEW_MS
          ? {
              check: `${label} clock`,
              ok: true,
              detail: `within ${Math.ceil(skew / 1000)} s of this machine`,
            }
          : {
              check: `${label} clock`,
              ok: false,
              detail: `${Math.round(skew / 1000)} s away from this machine's clock`,
              fix: 'synchronise both machines with NTP (timedatectl set-ntp true)',
            },
      );
    }
    return found;
  } catch (err) {
    const code = err instanceof BridgeError ? err.code : '';
    if (/HTTP_40[13]$/.test(code))
      return [
        {
          check,
          ok: false,
          detail: `${s.url} refused the configured username or password`,
          fix: `set the ${label} Orthanc's username and password (environment or passwordFile) to a user of its RegisteredUsers`,
        },
      ];
    return [
      {
        check,
        ok: false,
        detail: `${s.url} cannot be reached (${safeMessage(err)})`,
        fix: `start that Orthanc, or correct its url (and the firewall between them)`,
      },
    ];
  }
}

/** A destination of another kind (DICOMweb, DIMSE): it answers its own probe (QIDO-RS, C-ECHO). */
async function destination(name: string, d: DestinationConfig): Promise<Finding[]> {
  const check = `${name} ${d.kind}`;
  try {
    return [{ check, ok: true, detail: await openDestination(name, d).probe() }];
  } catch (err) {
    const code = err instanceof BridgeError ? err.code : '';
    return [
      {
        check,
        ok: false,
        detail: safeMessage(err),
        fix: /401|403/.test(code)
          ? `set the ${name} credentials (BRIDGE_DEST_${name.toUpperCase().replace(/-/g, '_')}_PASSWORD(_FILE) or tokenFile)`
          : /REJECTED/.test(code)
            ? 'register this bridge (callingAet, host) at the peer, or correct calledAet'
            : 'start it, or correct its address (and the firewall between them)',
      },
    ];
  }
}

/** The Explorer button: the Python plugin loaded in the clinical Orthanc, and it can reach the bridge with its token. */
async function plugin(s: OrthancServerConfig): Promise<Finding> {
  const check = 'Explorer plugin';
  const c = client('clinical', s);
  try {
    if (!(await c.plugins()).includes('python'))
      return {
        check,
        ok: false,
        detail: 'the clinical Orthanc has not loaded its Python plugin: Orthanc Explorer shows no button',
        fix: 'install orthanc-python and add libOrthancPython.so to Plugins, PythonScript research_bridge_plugin.py (orthanc/clinical.json)',
      };
    const probe = await c.pluginProbe(PROBE_STUDY);
    if (probe.status === 200)
      return { check, ok: true, detail: 'the plugin reached the bridge with its token' };
    if (probe.status === 404)
      return {
        check,
        ok: false,
        detail: "the Python plugin is loaded, but not the bridge's script (its route is unknown)",
        fix: 'set PythonScript to orthanc/research_bridge_plugin.py',
      };
    const words = probe.error ?? `the plugin answered ${probe.status}`;
    return {
      check,
      ok: false,
      detail: words,
      fix: /no token/.test(words)
        ? "give the clinical Orthanc the bridge's operator token: RESEARCH_BRIDGE_TOKEN in its environment, or ResearchBridge.TokenFile"
        : /refused/.test(words)
          ? "the plugin's token must be the bridge's BRIDGE_API_TOKEN (not the admin token)"
          : 'start the bridge (bridge run) and check ResearchBridge.Url in the clinical Orthanc: it must reach the bridge API',
    };
  } catch (err) {
    return { check, ok: false, detail: `cannot ask the clinical Orthanc (${safeMessage(err)})` };
  }
}

/** A folder destination: the folder exists (or can be made) and can be written. */
function folder(name: string, dir: string): Finding {
  const check = `${name} folder`;
  const at = nearestExisting(dir);
  try {
    accessSync(at, constants.W_OK);
    return { check, ok: true, detail: `${dir} can be written` };
  } catch {
    return {
      check,
      ok: false,
      detail: `${dir} cannot be written by this account`,
      fix: `chown or chmod ${at}`,
    };
  }
}

async function store(cfg: ResolvedConfig): Promise<Finding[]> {
  const check = 'state store';
  try {
    const s = await schemaState(cfg.dataDir, cfg.state);
    const found: Finding[] = [];
    if (s.current === undefined)
      found.push({ check, ok: true, detail: `${s.location} does not exist yet: the first run creates it` });
    else if (s.current === s.latest)
      found.push({ check, ok: true, detail: `${s.location} at schema version ${s.current} (current)` });
    else if (s.current < s.latest)
      found.push({
        check,
        ok: false,
        detail: `${s.location} is at schema version ${s.current}; this bridge's is ${s.latest} (a stale migration)`,
        fix: 'back the database up, then start the bridge once: it migrates the schema at start',
      });
    else
      found.push({
        check,
        ok: false,
        detail: `${s.location} is at schema version ${s.current}, newer than this bridge knows (${s.latest})`,
        fix: 'run the newer bridge that wrote it, or restore the backup taken before it was upgraded',
      });
    if (cfg.state && s.tls === false)
      found.push({
        check: 'state store TLS',
        ok: false,
        detail: 'the connection to PostgreSQL is not encrypted',
        fix: 'add sslmode=require (or verify-full with a CA file) to the state url',
      });
    return found;
  } catch (err) {
    return [
      {
        check,
        ok: false,
        detail: `cannot be read (${safeMessage(err)})`,
        fix: cfg.state
          ? 'check the state url, its password and that PostgreSQL runs'
          : `check ${cfg.dataDir}`,
      },
    ];
  }
}

function disk(dataDir: string): Finding {
  const check = 'data folder space';
  const at = nearestExisting(dataDir);
  const s = statfsSync(at);
  const free = s.bavail * s.bsize;
  const gib = (free / 1024 ** 3).toFixed(1);
  return free >= MIN_FREE_BYTES
    ? { check, ok: true, detail: `${gib} GiB free under ${at}` }
    : { check, ok: false, detail: `only ${gib} GiB free under ${at}`, fix: 'free space or move dataDir' };
}

/** Runs every check; a configuration that cannot be read stops only the checks that need it. */
export async function runDoctor(opts: LoadOptions): Promise<Finding[]> {
  let cfg: ResolvedConfig;
  try {
    cfg = loadConfig(opts);
  } catch (err) {
    return [
      {
        check: 'configuration',
        ok: false,
        detail: safeMessage(err),
        fix: 'correct the setting named (README "Configuration"); the other checks need a configuration that loads',
      },
    ];
  }
  const found: Finding[] = [
    { check: 'configuration', ok: true, detail: `read from ${cfg.sources.join(', ')}` },
  ];
  for (const w of cfg.warnings)
    found.push({ check: 'secrets and tokens', ok: false, detail: w, fix: 'as said' });
  if (!cfg.credentials.operatorToken)
    found.push({
      check: 'secrets and tokens',
      ok: false,
      detail:
        'BRIDGE_API_TOKEN is not set: the API, the admin page and the Explorer button refuse every request',
      fix: 'set BRIDGE_API_TOKEN (or BRIDGE_API_TOKEN_FILE) to 32 random bytes, e.g. openssl rand -hex 32',
    });
  const servers: Array<Promise<Finding[]>> = [orthanc('clinical', cfg.source)];
  for (const [name, d] of Object.entries(cfg.destinations)) {
    servers.push(d.kind === 'orthanc' ? orthanc(name, d) : destination(name, d));
    if (d.kind === 'orthanc' && d.folderSink) servers.push(Promise.resolve([folder(name, d.folderSink.dir)]));
  }
  const [reached, explorer, state] = await Promise.all([
    Promise.all(servers),
    plugin(cfg.source),
    store(cfg),
  ]);
  found.push(...reached.flat(), explorer, ...state, disk(cfg.dataDir));
  return found;
}
