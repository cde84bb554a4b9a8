import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { pseudonymFor, type DerivedKeys } from './keys';
import { BridgeError } from '../errors';

/**
 * Reversible pseudonyms. The daemon holds only the re-identification PUBLIC key (X25519). For each
 * pseudonym it seals the original PatientID and issuer: an ephemeral X25519 key agreement with the
 * public key, HKDF-SHA256 to an AES-256-GCM key, the pseudonym as associated data (a sealed record
 * cannot be moved to another pseudonym). Only the holder of the private key, kept offline by the
 * admin, can open a record (`bridge reidentify`). The daemon cannot: a stolen state database or
 * daemon secret reveals no identity through these records.
 */

export interface SealedIdentity {
  /** Short fingerprint of the public key the record is sealed to. */
  readonly keyId: string;
  /** base64: ephemeral public key (DER SPKI) | nonce (12) | tag (16) | ciphertext. */
  readonly sealed: string;
}

export interface Identity {
  readonly patientId: string;
  readonly issuer: string;
}

/** A re-identification that must not go on (wrong key, altered or swapped record): the command stops. */
export class ReidentificationError extends BridgeError {
  override readonly name = 'ReidentificationError';
  readonly retryable = false;
  readonly scope = 'process';
  constructor(message: string) {
    super('REID_REFUSED', message);
  }
}

const INFO = Buffer.from('orthanc-research-bridge/reid/v1');

export function generateReidKeyPair(): { publicPem: string; privatePem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return {
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export function loadPublicKey(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'x25519')
    throw new ReidentificationError('the re-identification public key must be an X25519 key');
  return key;
}

export function loadPrivateKey(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'x25519')
    throw new ReidentificationError('the re-identification private key must be an X25519 key');
  return key;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function aesKey(shared: Buffer, ephemeralDer: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, ephemeralDer, INFO, 32));
}

export function sealIdentity(publicKey: KeyObject, pseudonym: string, identity: Identity): SealedIdentity {
  const ephemeral = generateKeyPairSync('x25519');
  const ephemeralDer = ephemeral.publicKey.export({ type: 'spki', format: 'der' });
  const key = aesKey(diffieHellman({ privateKey: ephemeral.privateKey, publicKey }), ephemeralDer);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(pseudonym, 'utf8'));
  const plaintext = Buffer.from(JSON.stringify(identity), 'utf8');
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(ephemeralDer.length);
  return {
    keyId: keyIdOf(publicKey),
    sealed: Buffer.concat([len, ephemeralDer, nonce, cipher.getAuthTag(), ciphertext]).toString('base64'),
  };
}

/**
 * Opens a sealed identity, and checks that it is this pseudonym's: the pseudonym derived from the
 * opened PatientID must be the one asked for. Anyone with write access to the database and the
 * public key could otherwise seal another person's identity under a pseudonym (a swap).
 */
export function openIdentity(
  privateKey: KeyObject,
  pseudonym: string,
  record: SealedIdentity,
  keys: DerivedKeys,
): Identity {
  const identity = openSealed(privateKey, pseudonym, record);
  // A patient without a PatientID is keyed by the study (engine.ts): nothing to compare it with.
  if (identity.patientId !== '' && pseudonymFor(keys, identity.patientId, identity.issuer) !== pseudonym)
    throw new ReidentificationError(
      'the sealed identity does not derive to this pseudonym: the record was altered or swapped',
    );
  return identity;
}

function openSealed(privateKey: KeyObject, pseudonym: string, record: SealedIdentity): Identity {
  const publicKey = createPublicKey(privateKey);
  if (keyIdOf(publicKey) !== record.keyId)
    throw new ReidentificationError(`this private key does not open records sealed to key ${record.keyId}`);
  const raw = Buffer.from(record.sealed, 'base64');
  const n = raw.readUInt16BE(0);
  const ephemeralDer = raw.subarray(2, 2 + n);
  const nonce = raw.subarray(2 + n, 14 + n);
  const tag = raw.subarray(14 + n, 30 + n);
  const ciphertext = raw.subarray(30 + n);
  const ephemeral = createPublicKey({ key: ephemeralDer, format: 'der', type: 'spki' });
  const key = aesKey(diffieHellman({ privateKey, publicKey: ephemeral }), ephemeralDer);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(Buffer.from(pseudonym, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    const parsed = JSON.parse(plain.toString('utf8')) as Identity;
    return { patientId: String(parsed.patientId), issuer: String(parsed.issuer ?? '') };
  } catch {
    throw new ReidentificationError(
      'the record does not authenticate (altered, or sealed for another pseudonym)',
    );
  }
}
