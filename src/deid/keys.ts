import { ConfigError } from '../errors';
import { createHmac, hkdfSync } from 'node:crypto';

/**
 * Keys derived from the one project secret. Each purpose has its own key so that knowing
 * one mapping (say, a UID pair) says nothing about another (a pseudonym).
 */
export interface DerivedKeys {
  readonly uid: Buffer;
  readonly patientId: Buffer;
  readonly dateShift: Buffer;
  /** Short public fingerprint of the secret, recorded with outputs so a key change is visible. */
  readonly version: string;
}

const SALT = Buffer.from('orthanc-research-bridge/v1');

function derive(secret: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, SALT, purpose, 32));
}

export function deriveKeys(secret: string | Buffer): DerivedKeys {
  const raw = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (raw.length < 16) throw new ConfigError('the project secret must be at least 16 bytes long');
  return Object.freeze({
    uid: derive(raw, 'uid'),
    patientId: derive(raw, 'patient-id'),
    dateShift: derive(raw, 'date-shift'),
    version: derive(raw, 'key-version').subarray(0, 4).toString('hex'),
  });
}

function hmac(key: Buffer, value: string): Buffer {
  return createHmac('sha256', key).update(value, 'utf8').digest();
}

/** `2.25.` + the decimal value of the first 128 bits of HMAC(uidKey, uid): at most 44 characters. */
export function mapUid(keys: DerivedKeys, uid: string): string {
  const digest = hmac(keys.uid, uid.replace(/\0/g, '').trim());
  return '2.25.' + BigInt('0x' + digest.subarray(0, 16).toString('hex')).toString(10);
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32(bytes: Buffer, chars: number): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

const PSEUDONYM_PREFIX = 'RB';
/** 20 base32 characters = 100 bits: collisions are negligible for any realistic number of patients. */
const PSEUDONYM_CHARS = 20;

/** The identity a pseudonym is derived from: issuer and PatientID, separated so they cannot run together. */
function patientKey(patientId: string, issuer: string): string {
  return `${issuer.trim()}\u0000${patientId.trim()}`;
}

export function pseudonymFor(keys: DerivedKeys, patientId: string, issuer: string): string {
  return `${PSEUDONYM_PREFIX}${base32(hmac(keys.patientId, patientKey(patientId, issuer)), PSEUDONYM_CHARS)}`;
}

/** A non-zero whole number of days in [-maxDays, maxDays], the same for every study of the patient. */
export function dateShiftFor(keys: DerivedKeys, patientId: string, issuer: string, maxDays: number): number {
  const digest = hmac(keys.dateShift, patientKey(patientId, issuer));
  const magnitude = 1 + (digest.readUInt32BE(0) % maxDays);
  return (digest[4]! & 1) === 1 ? -magnitude : magnitude;
}
