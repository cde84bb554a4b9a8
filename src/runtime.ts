/** Everything built from one config: clients, keys, profiles and the context the pipeline runs with. */
import { openDestination } from './destinations';
import { openSpool } from './destinations/spool';
import type { ProfileConfig, ResolvedConfig } from './config';
import { deriveKeys } from './deid/keys';
import { BASIC_OPTIONS, safePrivateSet, type DeidProfile } from './deid/profile';
import { loadPublicKey } from './deid/reid';
import type { Logger } from './log';
import { OrthancClient } from './orthanc/client';
import type { BaseContext, ProcessState, Target } from './pipeline/context';
import type { Db } from './store/db';
import { ByteBudget } from './util/budget';

function profileFromConfig(p: ProfileConfig): DeidProfile {
  return Object.freeze({
    name: p.name,
    options: Object.freeze({ ...BASIC_OPTIONS, ...p.options }),
    safePrivate: safePrivateSet(p.safePrivate),
    overrides: new Map(Object.entries(p.overrides)),
    maxDateShiftDays: p.maxDateShiftDays,
    retainedFreeText: p.retainedFreeText,
    pixelPolicy: p.pixelPolicy,
  });
}

/** Everything built from one config: clients, keys, profiles and the context the pipeline runs with. */
export interface Runtime {
  readonly cfg: ResolvedConfig;
  readonly source: OrthancClient;
  readonly base: BaseContext;
  /** Releases what the destinations hold open (storage commitment listeners). */
  close(): Promise<void>;
}

export function buildRuntime(cfg: ResolvedConfig, db: Db, log: Logger, state: ProcessState): Runtime {
  const source = new OrthancClient({ ...cfg.source, label: 'source' });
  const keys = deriveKeys(cfg.secret);
  const reidPublicKey = cfg.reidPublicKeyPem ? loadPublicKey(cfg.reidPublicKeyPem) : undefined;
  // Only a DIMSE destination hands files to another program (storescu).
  const spool = Object.values(cfg.destinations).some((d) => d.kind === 'dimse')
    ? openSpool(cfg.dataDir)
    : undefined;
  const clients = new Map(
    Object.entries(cfg.destinations).map(([name, d]) => [name, openDestination(name, d, spool)]),
  );
  const profiles = new Map(
    Object.values(cfg.profiles).map((p) => [p.name, { profile: profileFromConfig(p), keys, reidPublicKey }]),
  );
  const target = (destination: string, profile: string, route: string): Target | undefined => {
    const research = clients.get(destination);
    const deid = profiles.get(profile);
    if (!research || !deid) return undefined;
    const d = cfg.destinations[destination];
    // An Orthanc destination's folder sink (a copy beside it); a folder destination writes its own files.
    const folderSink = d?.kind === 'orthanc' ? d.folderSink : undefined;
    return { destination, route, research, deid, folderSink };
  };
  const base: BaseContext = {
    state,
    db,
    source,
    log,
    concurrency: cfg.pipeline.concurrency,
    processedMetadataKey: cfg.processedMetadataKey,
    explorerMetadataKey: cfg.explorerMetadataKey,
    dataDir: cfg.reportsDir,
    exportTags: cfg.export.metadataTags,
    routes: cfg.routes,
    budget: new ByteBudget(cfg.pipeline.memoryBudgetMb * 1024 * 1024),
    maxInflatedBytes: cfg.pipeline.maxInflatedMb * 1024 * 1024,
    slots: new ByteBudget(cfg.pipeline.concurrency),
    // Config validation guarantees every route names existing destinations and profiles.
    targetsOf: (route) => route.destinations.map((d) => target(d, route.profile, route.name)!),
    target,
  };
  const close = async () => {
    for (const d of clients.values()) await d.close?.().catch(() => undefined);
  };
  return { cfg, source, base, close };
}
