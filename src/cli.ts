#!/usr/bin/env node
import { Command, Option } from 'commander';
import { createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { BridgeApp, formatSummary, type StatusReport } from './app';
import {
  checkConsistency,
  discard,
  queueReprocess,
  releaseQuarantine,
  type ReprocessTarget,
} from './pipeline/admin';
import { auditCsv, metadataCsv, metadataJson } from './reports/format';
import { listAudit } from './store/audit';
import { getQuarantine, instancesOfStudy, listQuarantine, openQuarantineReasons } from './store/instances';
import { summarizeReasons } from './verify/types';
import { listMetadata } from './store/metadata';
import { allSealed, auditAdmin, saveSealed, sealedFor } from './store/reid';
import { deriveKeys, pseudonymFor } from './deid/keys';
import {
  generateReidKeyPair,
  keyIdOf,
  loadPrivateKey,
  loadPublicKey,
  openIdentity,
  sealIdentity,
} from './deid/reid';
import { ConfigError, loadConfig, type ResolvedConfig } from './config';
import { BridgeError, safeMessage, UsageError } from './errors';
import { isOrthancId } from './orthanc/ids';
import { StoreError } from './store/db';

function config(opts: { config?: string }): ResolvedConfig {
  // The one place the process environment is handed over; everything else gets the resolved config.
  // eslint-disable-next-line no-restricted-properties
  return loadConfig({ env: process.env, configPath: opts.config });
}

/** The first line of standard input; on a terminal, after a prompt on standard error (not echoed to stdout). */
async function firstLineOfStdin(prompt: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(prompt);
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of rl) return line;
    return '';
  } finally {
    rl.close();
  }
}

/** Refuses what is not an Orthanc ID, as the API does ("..", a path, an ID with a newline...). */
function orthancIdArg(name: string, value: string): void {
  if (!isOrthancId(value))
    throw new UsageError(
      `${name}: not an Orthanc ID (five groups of 8 lower-case hex digits, as Orthanc Explorer shows)`,
    );
}

function quarantineIdArg(value: string): number {
  if (!/^[1-9]\d{0,15}$/.test(value))
    throw new UsageError(`quarantine entry: "${value.slice(0, 20)}" is not an entry number`);
  return Number(value);
}

/** Who ran an admin command, for the audit: the operating-system account. */
function actor(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

function printStatus(s: StatusReport): void {
  const j = s.jobs;
  console.log(
    `jobs: queued ${j.queued}, running ${j.running}, done ${j.done}, quarantined ${j.quarantined}, failed ${j.failed}, skipped ${j.skipped}`,
  );
  console.log(`quarantine: ${s.quarantinedInstances} instance(s)`);
  const f = s.feed;
  console.log(
    `change feed: cursor ${f.cursor}, clinical Orthanc last ${f.orthancLast ?? 'unknown'}, lag ${f.lag ?? 'unknown'}, resets ${f.resets}`,
  );
}

async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('bridge')
    .description(
      'De-identify studies from a clinical Orthanc and push verified instances to a research Orthanc',
    )
    .option('-c, --config <file>', 'config file merged over config/default.json (or BRIDGE_CONFIG)')
    .showHelpAfterError();
  let exitCode = 0;

  program
    .command('run')
    .description('follow the change log, process studies, serve the API and run the schedules')
    .option('--once', 'catch up with the change log, process every queued study, print a summary and exit')
    .action(async (o: { once?: boolean }) => {
      const cfg = config(program.opts());
      if (o.once) {
        const app = new BridgeApp(cfg, { console: false });
        try {
          const summary = await app.runOnce();
          console.log(formatSummary(summary));
          exitCode = summary.ok ? 0 : 1;
        } finally {
          await app.stop();
        }
        return;
      }
      const app = new BridgeApp(cfg);
      await app.start();
      console.error(`bridge: running; API on ${app.apiAddress()}; data in ${cfg.dataDir}`);
      if (!cfg.credentials.operatorToken && !cfg.credentials.adminToken) {
        console.error(
          'bridge: API access is not configured (BRIDGE_API_TOKEN / BRIDGE_ADMIN_TOKEN): protected routes answer 503',
        );
      }
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string): void => {
          if (stopping) return;
          stopping = true;
          app.log.info('shutdown requested', { signal });
          void app.stop().then(resolve, resolve);
        };
        app.onFatal((err) => {
          console.error(`bridge: ${err.message}`);
          exitCode = 2;
          stop('store failure');
        });
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        // SIGHUP: read the configuration again; a valid one takes over for new jobs, an invalid
        // one is refused and the running configuration stays.
        process.on('SIGHUP', () => {
          void (async () => {
            try {
              await app.reload(config(program.opts()));
            } catch (err) {
              app.log.error('configuration reload rejected; the running configuration stays', {
                error: err instanceof Error ? err.message : 'unknown error',
              });
            }
          })();
        });
      });
    });

  /** Runs `fn` with an app that does not serve or poll, and always closes it. */
  const withApp = async (fn: (app: BridgeApp) => Promise<void> | void): Promise<void> => {
    const app = new BridgeApp(config(program.opts()), { console: false });
    try {
      await fn(app);
    } finally {
      await app.stop();
    }
  };

  program
    .command('process <orthancStudyId>')
    .description('carry one clinical study across now')
    .action((studyId: string) =>
      withApp(async (app) => {
        orthancIdArg('process <orthancStudyId>', studyId);
        const r = await app.queueStudy(studyId, 'cli');
        if (!r.known) {
          console.error(`bridge: no study ${studyId} in the clinical Orthanc`);
          exitCode = 1;
          return;
        }
        const summary = await app.runOnce({ poll: false });
        console.log(formatSummary(summary));
        exitCode = summary.ok ? 0 : 1;
      }),
    );

  program
    .command('status')
    .description('counts of jobs per state, quarantine and the change feed position')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      withApp((app) => {
        const s = app.status();
        if (!o.json) return printStatus(s);
        console.log(
          JSON.stringify(
            { jobs: s.jobs, quarantinedInstances: s.quarantinedInstances, feed: s.feed },
            null,
            2,
          ),
        );
      }),
    );

  const quarantine = program.command('quarantine').description('instances held back by a failed check');
  quarantine
    .command('list')
    .description('open quarantine entries (reasons name the check and tag, never a value)')
    .option('--all', 'include discarded entries')
    .option('--summary', 'counts by check and reason (element and kind of value), most frequent first')
    .option('--json', 'print JSON')
    .action((o: { all?: boolean; json?: boolean; summary?: boolean }) =>
      withApp((app) => {
        if (o.summary) {
          const summary = summarizeReasons(openQuarantineReasons(app.db));
          if (o.json) return void console.log(JSON.stringify(summary, null, 2));
          for (const s of summary) console.log(`${String(s.count).padStart(7)}  ${s.reason}`);
          const total = summary.reduce((n, s) => n + s.count, 0);
          return void console.log(
            `${total} open entr${total === 1 ? 'y' : 'ies'} in ${summary.length} group(s)`,
          );
        }
        const entries = listQuarantine(app.db, { includeDiscarded: o.all });
        if (o.json) return void console.log(JSON.stringify(entries, null, 2));
        for (const q of entries)
          console.log(`${q.id}\t${q.status}\t${q.studyId}\t${q.sourceId}\t${q.reason}`);
        console.log(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}`);
      }),
    );
  quarantine
    .command('show <id>')
    .description('one entry in full')
    .action((id: string) =>
      withApp((app) => {
        const q = getQuarantine(app.db, quarantineIdArg(id));
        if (!q) {
          console.error(`bridge: no quarantine entry ${id}`);
          exitCode = 1;
          return;
        }
        console.log(JSON.stringify(q, null, 2));
      }),
    );
  quarantine
    .command('release <id>')
    .description('run the instance again under the current config, now')
    .action((id: string) =>
      withApp(async (app) => {
        const r = releaseQuarantine(app.db, quarantineIdArg(id), `cli:${actor()}`);
        if (!r.released) {
          console.error(`bridge: no open quarantine entry ${id}`);
          exitCode = 1;
          return;
        }
        app.log.info('quarantine entry released', {
          quarantineId: Number(id),
          study: r.studyId,
          instance: r.sourceId,
          via: 'cli',
        });
        const summary = await app.runOnce({ poll: false });
        const after = instancesOfStudy(app.db, r.studyId!, r.destination!).get(r.sourceId!);
        const open = listQuarantine(app.db, { studyId: r.studyId }).find((q) => q.sourceId === r.sourceId);
        console.log(
          after?.state === 'pushed'
            ? `released: instance ${r.sourceId} is on research as ${after.researchId}`
            : `still quarantined: ${open?.reason ?? 'see bridge quarantine list'}`,
        );
        console.log(formatSummary(summary));
        exitCode = after?.state === 'pushed' ? 0 : 1;
      }),
    );
  quarantine
    .command('discard <id>')
    .description('leave the instance out of research for good (it stays accounted for)')
    .action((id: string) =>
      withApp(async (app) => {
        const r = discard(app.db, quarantineIdArg(id), `cli:${actor()}`);
        if (!r.discarded) {
          console.error(`bridge: no open quarantine entry ${id}`);
          exitCode = 1;
          return;
        }
        app.log.info('quarantine entry discarded', {
          quarantineId: Number(id),
          study: r.studyId,
          via: 'cli',
        });
        console.log(formatSummary(await app.runOnce({ poll: false })));
      }),
    );

  const formatOption = new Option('--format <format>', 'output format')
    .choices(['json', 'csv'])
    .default('json');

  program
    .command('report')
    .description('audit records: one per study and job')
    .option('--since <date>', 'only records finished at or after this date (e.g. 2026-01-31)')
    .addOption(formatOption)
    .action((o: { since?: string; format: 'json' | 'csv' }) =>
      withApp((app) => {
        if (o.since !== undefined && Number.isNaN(Date.parse(o.since)))
          throw new UsageError(`--since: "${o.since}" is not a date`);
        const records = listAudit(app.db, { since: o.since ? new Date(o.since).toISOString() : undefined });
        process.stdout.write(
          o.format === 'csv' ? auditCsv(records) : JSON.stringify(records, null, 2) + '\n',
        );
      }),
    );

  program
    .command('export-metadata')
    .description('the configured tags of every de-identified instance on research')
    .option('--study <orthancStudyId>', 'one source study only')
    .option('--out <file>', 'write to a file instead of stdout')
    .addOption(formatOption)
    .action((o: { study?: string; out?: string; format: 'json' | 'csv' }) =>
      withApp((app) => {
        if (o.study !== undefined) orthancIdArg('--study', o.study);
        const rows = listMetadata(app.db, { sourceStudyId: o.study });
        const keywords = app.cfg.export.metadataTags.map((t) => t.keyword);
        const text =
          o.format === 'csv'
            ? metadataCsv(rows, keywords)
            : JSON.stringify(metadataJson(rows, keywords), null, 2) + '\n';
        if (o.out) {
          writeFileSync(o.out, text);
          console.log(`bridge: ${rows.length} instance(s) written to ${o.out}`);
        } else process.stdout.write(text);
      }),
    );

  program
    .command('reprocess')
    .description('re-derive the research copy under the current key and profile and replace it')
    .option('--study <orthancStudyId>', 'one source study')
    .option('--patient <pseudonym>', 'every study of one research patient')
    .option('--all', 'every study the bridge has carried')
    .action((o: { study?: string; patient?: string; all?: boolean }) =>
      withApp(async (app) => {
        const chosen = [o.study, o.patient, o.all].filter((v) => v !== undefined).length;
        if (chosen !== 1) throw new UsageError('reprocess: give exactly one of --study, --patient, --all');
        if (o.study !== undefined) orthancIdArg('--study', o.study);
        if (o.patient !== undefined && !/^[A-Z0-9]{4,64}$/.test(o.patient))
          throw new UsageError('--patient: a pseudonym is upper-case letters and digits');
        const target: ReprocessTarget = o.study
          ? { study: o.study }
          : o.patient
            ? { patient: o.patient }
            : { all: true };
        const studies = queueReprocess(app.db, target);
        app.log.info('reprocess requested', {
          studies: studies.length,
          target: o.study ? 'study' : o.patient ? 'patient' : 'all',
        });
        const summary = await app.runOnce({ poll: false });
        console.log(formatSummary(summary));
        exitCode = summary.ok ? 0 : 1;
      }),
    );

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
        exitCode = 1;
        return;
      }
      mkdirSync(o.out, { recursive: true });
      const pair = generateReidKeyPair();
      writeFileSync(pub, pair.publicPem, { mode: 0o644 });
      writeFileSync(priv, pair.privatePem, { mode: 0o600 });
      console.log(`public key (set reidentification.publicKeyFile or BRIDGE_REID_PUBLIC_KEY_FILE): ${pub}`);
      console.log(`private key (keep offline; needed only by bridge reidentify): ${priv}`);
      console.log(`key id: ${keyIdOf(loadPublicKey(pair.publicPem))}`);
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
      withApp(async (app) => {
        if (given !== undefined)
          throw new UsageError(
            'pseudonym: give the PatientID on standard input (echo ID | bridge pseudonym), not as an argument: arguments show in process lists and shell history',
          );
        const patientId = (await firstLineOfStdin('PatientID: ')).trim();
        if (!patientId) throw new UsageError('pseudonym: no PatientID on standard input');
        const p = pseudonymFor(deriveKeys(app.cfg.secret), patientId, o.issuer);
        auditAdmin(app.db, { action: 'pseudonym', pseudonym: p, actor: actor(), outcome: 'computed' });
        console.log(p);
      }),
    );

  program
    .command('reidentify <pseudonym>')
    .description(
      'the PatientID (and issuer) behind a pseudonym, with the re-identification private key (audited)',
    )
    .requiredOption('--private-key <file>', 'PEM file of the re-identification private key')
    .action((pseudonym: string, o: { privateKey: string }) =>
      withApp((app) => {
        const key = loadPrivateKey(readFileSync(o.privateKey, 'utf8'));
        const keyId = keyIdOf(createPublicKey(key));
        const records = sealedFor(app.db, pseudonym);
        const record = records.find((r) => r.keyId === keyId);
        const outcome = record ? 'opened' : records.length > 0 ? 'other-key' : 'unknown';
        if (!record) {
          auditAdmin(app.db, { action: 'reidentify', pseudonym, actor: actor(), outcome });
          console.error(
            records.length > 0
              ? `bridge: ${pseudonym} is sealed to key(s) ${records.map((r) => r.keyId).join(', ')}, not to ${keyId}`
              : `bridge: no sealed identity for ${pseudonym} (unknown pseudonym, or carried before a key was configured)`,
          );
          exitCode = 1;
          return;
        }
        let identity: ReturnType<typeof openIdentity>;
        try {
          identity = openIdentity(key, pseudonym, record, deriveKeys(app.cfg.secret));
        } catch (err) {
          auditAdmin(app.db, { action: 'reidentify', pseudonym, actor: actor(), outcome: 'refused' });
          console.error(`bridge: ${safeMessage(err)}`);
          exitCode = 1;
          return;
        }
        auditAdmin(app.db, { action: 'reidentify', pseudonym, actor: actor(), outcome });
        console.log(`PatientID: ${identity.patientId}`);
        console.log(`IssuerOfPatientID: ${identity.issuer}`);
      }),
    );

  program
    .command('reid-rewrap')
    .description('key rotation: re-seal every identity sealed to the old key to the configured public key')
    .requiredOption('--old-private-key <file>', 'PEM file of the old re-identification private key')
    .action((o: { oldPrivateKey: string }) =>
      withApp((app) => {
        if (!app.cfg.reidPublicKeyPem)
          throw new ConfigError('reidentification.publicKeyFile: set the new public key first');
        const oldKey = loadPrivateKey(readFileSync(o.oldPrivateKey, 'utf8'));
        const newKey = loadPublicKey(app.cfg.reidPublicKeyPem);
        const oldId = keyIdOf(createPublicKey(oldKey));
        const keys = deriveKeys(app.cfg.secret);
        let n = 0;
        for (const r of allSealed(app.db, oldId)) {
          // A record that does not derive to its pseudonym is not carried over to the new key.
          saveSealed(
            app.db,
            r.pseudonym,
            sealIdentity(newKey, r.pseudonym, openIdentity(oldKey, r.pseudonym, r, keys)),
          );
          n++;
        }
        auditAdmin(app.db, {
          action: 'reid-rewrap',
          pseudonym: '*',
          actor: actor(),
          outcome: `${n} resealed ${oldId}->${keyIdOf(newKey)}`,
        });
        console.log(
          `${n} identit${n === 1 ? 'y' : 'ies'} re-sealed from key ${oldId} to key ${keyIdOf(newKey)}`,
        );
      }),
    );

  program
    .command('check-consistency')
    .description(
      'research studies whose pseudonym, UIDs or content disagree with the current key and profile',
    )
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      withApp(async (app) => {
        const problems = await checkConsistency(app.stage);
        if (o.json) console.log(JSON.stringify(problems, null, 2));
        else {
          for (const p of problems)
            console.log(
              `${p.sourceStudyId}\t${p.researchStudyId ?? '-'}\t${p.pseudonym ?? '-'}\t${p.problems.join('; ')}`,
            );
          console.log(`${problems.length} inconsistent stud${problems.length === 1 ? 'y' : 'ies'}`);
        }
        exitCode = problems.length === 0 ? 0 : 1;
      }),
    );

  await program.parseAsync(argv);
  return exitCode;
}

// Everything the bridge writes (state database and its WAL, logs, reports, exports, folder sink)
// holds research data, pseudonyms or keys: private to the account it runs as. The folder sink may
// open its files to a group (folderSink.fileMode).
process.umask(0o077);

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Our own errors say what to do as they are; a configuration or store failure exits 2.
    if (err instanceof BridgeError) {
      console.error(`bridge: ${err.message}`);
      process.exitCode = err instanceof ConfigError || err instanceof StoreError ? 2 : 1;
    } else {
      console.error(`bridge: ${safeMessage(err)}`);
      process.exitCode = 1;
    }
  },
);
