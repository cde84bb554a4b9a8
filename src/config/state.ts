/** Where the state lives (SQLite in dataDir, or PostgreSQL shared by replicas) and who this replica is. */
import { hostname } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors';
import type { FileConfig } from './schema';
import { readSecretFile } from './secrets';
import type { Env, ReplicaConfig, StateConfig } from './types';

export function resolveState(
  cfg: FileConfig,
  env: Env,
  cwd: string,
  warnings: string[],
): StateConfig | undefined {
  const url = cfg.state.url;
  if (!url) {
    if (env.BRIDGE_STATE_PASSWORD || env.BRIDGE_STATE_PASSWORD_FILE)
      throw new ConfigError('BRIDGE_STATE_PASSWORD: a password is set but no BRIDGE_STATE_URL');
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('BRIDGE_STATE_URL: not a URL');
  }
  // A password in a URL ends up on screens, in logs and in process listings.
  if (parsed.password)
    throw new ConfigError(
      'BRIDGE_STATE_URL: the address may not hold a password; use BRIDGE_STATE_PASSWORD or BRIDGE_STATE_PASSWORD_FILE',
    );
  if (!parsed.hostname || parsed.pathname.length <= 1)
    throw new ConfigError('BRIDGE_STATE_URL: name the host and the database: postgres://USER@HOST:PORT/DB');
  // sslmode is honoured; any other parameter is refused rather than silently ignored.
  let tls: StateConfig['tls'];
  for (const [key, value] of parsed.searchParams) {
    if (key !== 'sslmode')
      throw new ConfigError(
        `BRIDGE_STATE_URL: the parameter ${JSON.stringify(key)} is not supported (only sslmode)`,
      );
    if (value === 'require' || value === 'prefer') tls = 'encrypt';
    else if (value === 'verify-ca' || value === 'verify-full') tls = 'verify';
    else if (value !== 'disable')
      throw new ConfigError(
        'BRIDGE_STATE_URL: sslmode must be disable, prefer, require, verify-ca or verify-full',
      );
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]', '::1'].includes(parsed.hostname);
  if (!loopback && !tls && !cfg.state.caFile)
    warnings.push(
      'BRIDGE_STATE_URL: the state database is reached without TLS over the network; add ?sslmode=verify-full (and BRIDGE_STATE_CA_FILE for a private CA)',
    );
  const password =
    env.BRIDGE_STATE_PASSWORD ||
    (env.BRIDGE_STATE_PASSWORD_FILE
      ? readSecretFile(
          path.resolve(cwd, env.BRIDGE_STATE_PASSWORD_FILE),
          'BRIDGE_STATE_PASSWORD_FILE',
          warnings,
        )
      : undefined);
  let ca: string | undefined;
  if (cfg.state.caFile) {
    ca = readSecretFile(path.resolve(cwd, cfg.state.caFile), 'BRIDGE_STATE_CA_FILE');
    if (!ca.includes('-----BEGIN CERTIFICATE-----'))
      throw new ConfigError(`BRIDGE_STATE_CA_FILE: ${cfg.state.caFile} holds no PEM certificate`);
  }
  return { url, password, ca, tls, retryForMs: cfg.state.retryForMs, poolSize: cfg.state.poolSize };
}

export function resolveReplica(cfg: FileConfig): ReplicaConfig {
  const r = cfg.replica;
  if (r.heartbeatMs * 3 > r.leaseMs)
    throw new ConfigError(
      `replica.heartbeatMs: ${r.heartbeatMs} ms leaves too little of the ${r.leaseMs} ms lease; renew at least 3 times per lease`,
    );
  return { id: r.id ?? `${hostname()}-${process.pid}`, leaseMs: r.leaseMs, heartbeatMs: r.heartbeatMs };
}
