import { generateKeyPairSync } from 'node:crypto';
import {
  generateReidKeyPair,
  keyIdOf,
  loadPrivateKey,
  loadPublicKey,
  openIdentity,
  sealIdentity,
} from '../../src/deid/reid';

describe('reversible pseudonyms', () => {
  const pair = generateReidKeyPair();
  const pub = loadPublicKey(pair.publicPem);
  const priv = loadPrivateKey(pair.privatePem);

  it('opens a sealed identity only with the private key, for the pseudonym it was sealed for', () => {
    const record = sealIdentity(pub, 'RBAAAA', { patientId: 'SYN-42', issuer: 'SYNTH' });
    expect(record.keyId).toBe(keyIdOf(pub));
    expect(Buffer.from(record.sealed, 'base64').toString('latin1')).not.toContain('SYN-42');
    expect(openIdentity(priv, 'RBAAAA', record)).toEqual({ patientId: 'SYN-42', issuer: 'SYNTH' });
    expect(() => openIdentity(priv, 'RBBBBB', record)).toThrow(/does not authenticate/);
    const other = loadPrivateKey(generateReidKeyPair().privatePem);
    expect(() => openIdentity(other, 'RBAAAA', record)).toThrow(/does not open records sealed to key/);
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
