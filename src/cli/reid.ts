/** Reversible pseudonyms: reid-keygen, pseudonym, reidentify, reid-rewrap (each audited). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { newReidKeyPair } from '../service/bridgeService';
import { UsageError } from '../errors';
import { actor, firstLineOfStdin, withApp, type Cli } from './common';

export function registerReid(cli: Cli): void {
  const { program } = cli;
  program
    .command('reid-keygen')
    .description(
      'create the re-identification key pair: give the daemon the public key, keep the private key offline',
    )
    .requiredOption('--out <dir>', 'folder for reid-public.pem and reid-private.pem')
    .action((o: { out: string }) => {
      const pub = path.join(o.out, 'reid-public.pem');
      const priv = path.join(o.out, 'reid-private.pem');
      if (existsSync(pub) || existsSync(priv)) {
        console.error(`bridge: ${o.out} already holds a re-identification key; move it away first`);
        cli.exitCode = 1;
        return;
      }
      mkdirSync(o.out, { recursive: true });
      const pair = newReidKeyPair();
      writeFileSync(pub, pair.publicPem, { mode: 0o644 });
      writeFileSync(priv, pair.privatePem, { mode: 0o600 });
      console.log(`public key (set reidentification.publicKeyFile or BRIDGE_REID_PUBLIC_KEY_FILE): ${pub}`);
      console.log(`private key (keep offline; needed only by bridge reidentify): ${priv}`);
      console.log(`key id: ${pair.keyId}`);
    });

  program
    .command('pseudonym')
    .description(
      'the pseudonym the bridge gives a patient, whose PatientID is read from standard input (audited)',
    )
    .option('--issuer <issuer>', 'IssuerOfPatientID, when the clinical data has one', '')
    .argument(
      '[patientId]',
      'refused: a PatientID on the command line shows in process lists and shell history',
    )
    .action((given: string | undefined, o: { issuer: string }) =>
      withApp(cli, async (app) => {
        if (given !== undefined)
          throw new UsageError(
            'pseudonym: give the PatientID on standard input (bridge pseudonym < file, or type it), not as an argument: arguments show in process lists and shell history',
          );
        const patientId = (await firstLineOfStdin('PatientID: ')).trim();
        if (!patientId) throw new UsageError('pseudonym: no PatientID on standard input');
        console.log(await app.service.pseudonym(patientId, o.issuer, actor()));
      }),
    );

  program
    .command('reidentify <pseudonym>')
    .description(
      'the PatientID (and issuer) behind a pseudonym, with the re-identification private key (audited)',
    )
    .requiredOption('--private-key <file>', 'PEM file of the re-identification private key')
    .action((pseudonym: string, o: { privateKey: string }) =>
      withApp(cli, async (app) => {
        const r = await app.service.reidentify(pseudonym, readFileSync(o.privateKey, 'utf8'), actor());
        if (r.outcome === 'opened') {
          console.log(`PatientID: ${r.patientId}`);
          console.log(`IssuerOfPatientID: ${r.issuer}`);
          return;
        }
        console.error(
          r.outcome === 'other-key'
            ? `bridge: ${pseudonym} is sealed to key(s) ${r.sealedTo.join(', ')}, not to ${r.keyId}`
            : `bridge: no sealed identity for ${pseudonym} (unknown pseudonym, or carried before a key was configured)`,
        );
        cli.exitCode = 1;
      }),
    );

  program
    .command('reid-rewrap')
    .description('key rotation: re-seal every identity sealed to the old key to the configured public key')
    .requiredOption('--old-private-key <file>', 'PEM file of the old re-identification private key')
    .action((o: { oldPrivateKey: string }) =>
      withApp(cli, async (app) => {
        const r = await app.service.rewrap(readFileSync(o.oldPrivateKey, 'utf8'), actor());
        console.log(
          `${r.count} identit${r.count === 1 ? 'y' : 'ies'} re-sealed from key ${r.from} to key ${r.to}`,
        );
      }),
    );
}
