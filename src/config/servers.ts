/** The Orthanc servers: the clinical source and every research destination, with their credentials. */
import path from 'node:path';
import { ConfigError } from '../errors';
import type { FileConfig } from './schema';
import { readSecretFile } from './secrets';

/** Instances per STOW-RS request unless configured (measured: as fast as one, a 32nd of the requests). */
const STOW_BATCH_DEFAULT = 32;
import type { DestinationConfig, Env, OrthancServerConfig } from './types';

export function resolveServers(
  cfg: FileConfig,
  env: Env,
  cwd: string,
  warnings: string[],
): { source: OrthancServerConfig; destinations: Record<string, DestinationConfig> } {
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

  const destination = (
    d: Exclude<FileConfig['destinations'][string], { kind: 'dimse' } | { kind: 'folder' }>,
    prefix: string,
  ): DestinationConfig => {
    const tokenFile = d.tokenFile ? path.resolve(cwd, d.tokenFile) : undefined;
    // Read once now: a missing or unreadable token file is a configuration error at start.
    if (tokenFile) readSecretFile(tokenFile, `${prefix}_TOKEN_FILE (tokenFile)`, warnings);
    return Object.freeze({
      ...server(d, prefix),
      kind: d.kind,
      tokenFile,
      confirm: d.confirm,
      ...(d.kind === 'dicomweb' ? { batch: d.maxInstancesPerRequest ?? STOW_BATCH_DEFAULT } : {}),
    });
  };
  const destinations: Record<string, DestinationConfig> = {
    research: Object.freeze({ ...server(cfg.research, 'BRIDGE_RESEARCH'), kind: 'orthanc' as const }),
  };
  for (const [name, d] of Object.entries(cfg.destinations)) {
    if (d.kind === 'folder') {
      destinations[name] = Object.freeze({
        kind: 'folder' as const,
        url: `file://${path.resolve(cwd, d.dir)}`,
        explorerUrl: '',
        timeoutMs: 30_000,
        folderSink: { dir: path.resolve(cwd, d.dir), pattern: d.pattern, fileMode: parseInt(d.fileMode, 8) },
      });
      continue;
    }
    destinations[name] =
      d.kind === 'dimse'
        ? Object.freeze({
            kind: 'dimse' as const,
            // Shown where a URL is (status, logs); the peer is reached over DIMSE, not HTTP.
            url: `dicom://${d.host}:${d.port}`,
            explorerUrl: '',
            timeoutMs: d.timeoutMs,
            confirm: d.confirm,
            batch: d.maxInstancesPerAssociation,
            dimse: {
              host: d.host,
              port: d.port,
              calledAet: d.calledAet,
              callingAet: d.callingAet,
              ...(d.commitment ? { commitment: { ...d.commitment } } : {}),
            },
          })
        : destination(d, `BRIDGE_DEST_${name.toUpperCase().replace(/-/g, '_')}`);
  }
  return { source: server(cfg.source, 'BRIDGE_SOURCE'), destinations };
}
