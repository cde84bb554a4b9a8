import { generateKeyPairSync } from 'node:crypto';
import {
  generateReidKeyPair,
  keyIdOf,
  loadPrivateKey,
  loadPublicKey,
  openIdentity,
  sealIdentity,
} from '../../src/deid/reid';
import { deriveKeys, pseudonymFor } from '../../src/deid/keys';
import { TEST_SECRET } from '../helpers/samples';

describe('reversible pseudonyms', () => {
  const pair = generateReidKeyPair();
  const pub = loadPublicKey(pair.publicPem);
  const priv = loadPrivateKey(pair.privatePem);
  const keys = deriveKeys(TEST_SECRET);

  it('opens a sealed identity only with the private key, for the pseudonym it was sealed for', () => {
    const record = sealIdentity(pub, 'RBAAAA', { patientId: 'SYN-42', issuer: 'SYNTH' });
    expect(record.keyId).toBe(keyIdOf(pub));
    expect(Buffer.from(record.sealed, 'base64').toString('latin1')).not.toContain('SYN-42');
    const p = pseudonymFor(keys, 'SYN-42', 'SYNTH');
    const sealed = sealIdentity(pub, p, { patientId: 'SYN-42', issuer: 'SYNTH' });
    expect(openIdentity(priv, p, sealed, keys)).toEqual({ patientId: 'SYN-42', issuer: 'SYNTH' });
    expect(() => openIdentity(priv, 'RBBBBB', sealed, keys)).toThrow(/does not authenticate/);
    const other = loadPrivateKey(generateReidKeyPair().privatePem);
    expect(() => openIdentity(other, p, sealed, keys)).toThrow(/does not open records sealed to key/);
  });

  it("refuses a record swapped in with another person's identity, sealed with the public key", () => {
    // Someone with write access to the database and the public key seals SYN-7's identity under
    // SYN-42's pseudonym: it authenticates, but does not derive to the pseudonym.
    const p = pseudonymFor(keys, 'SYN-42', '');
    const forged = sealIdentity(pub, p, { patientId: 'SYN-7', issuer: '' });
    expect(() => openIdentity(priv, p, forged, keys)).toThrow(/does not derive to this pseudonym/);
  });

  it('seals the same identity differently each time (fresh ephemeral key and nonce)', () => {
    const a = sealIdentity(pub, 'RBAAAA', { patientId: 'SYN-42', issuer: '' });
    const b = sealIdentity(pub, 'RBAAAA', { patientId: 'SYN-42', issuer: '' });
    expect(a.sealed).not.toBe(b.sealed);
  });

  it('refuses a key of the wrong kind', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => loadPublicKey(ec.publicKey.export({ type: 'spki', format: 'pem' }).toString())).toThrow(
      /X25519/,
    );
  });
});
