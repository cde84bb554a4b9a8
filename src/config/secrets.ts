/**
 * Secrets, read from the environment or from files, never from a config file: the project
 * secret, API tokens, the re-identification public key. What an operator should fix but the bridge
 * can run with (weak tokens, readable secret files) goes to `warnings`.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors';
import type { FileConfig } from './schema';
import type { ApiCredentials, Env } from './types';

/** Secret files read, with what is wrong with their permissions (loadConfig turns them into warnings). */
export function readSecretFile(file: string, setting: string, warnings?: string[]): string {
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

/** The project secret every key is derived from. */
export function resolveSecret(env: Env, cwd: string, warnings: string[]): string {
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

  return secret;
}

/** The operator and admin API tokens. */
export function resolveCredentials(env: Env, cwd: string, warnings: string[]): ApiCredentials {
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
  const credentials: ApiCredentials = {
    operatorToken: token('BRIDGE_API_TOKEN'),
    adminToken: token('BRIDGE_ADMIN_TOKEN'),
  };
  if (credentials.operatorToken !== undefined && credentials.operatorToken === credentials.adminToken)
    throw new ConfigError(
      'BRIDGE_API_TOKEN and BRIDGE_ADMIN_TOKEN are the same: the operator would be an admin; give each its own token',
    );

  return credentials;
}

/** The re-identification public key (PEM), when one is configured. */
export function resolveReidKey(cfg: FileConfig, cwd: string): string | undefined {
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
  return reidPem;
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
