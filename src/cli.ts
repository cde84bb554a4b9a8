#!/usr/bin/env node
import { Command } from 'commander';
import { BridgeApp, formatSummary, type StatusReport } from './app';
import { ConfigError, loadConfig, type ResolvedConfig } from './config';
import { safeMessage } from './errors';
import { StoreError } from './store/db';

function config(opts: { config?: string }): ResolvedConfig {
  // The one place the process environment is handed over; everything else gets the resolved config.
  // eslint-disable-next-line no-restricted-properties
  return loadConfig({ env: process.env, configPath: opts.config });
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
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string): void => {
          if (stopping) return;
          stopping = true;
          app.log.info('shutdown requested', { signal });
          void app.stop().then(resolve, resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });

  program
    .command('process <orthancStudyId>')
    .description('carry one clinical study across now')
    .action(async (studyId: string) => {
      const app = new BridgeApp(config(program.opts()), { console: false });
      try {
        const r = await app.queueStudy(studyId, 'cli');
        if (!r.known) {
          console.error(`bridge: no study ${studyId} in the clinical Orthanc`);
          exitCode = 1;
          return;
        }
        const summary = await app.runOnce({ poll: false });
        console.log(formatSummary(summary));
        exitCode = summary.ok ? 0 : 1;
      } finally {
        await app.stop();
      }
    });

  program
    .command('status')
    .description('counts of jobs per state, quarantine and the change feed position')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const app = new BridgeApp(config(program.opts()), { console: false });
      try {
        const s = app.status();
        if (o.json)
          console.log(
            JSON.stringify(
              { jobs: s.jobs, quarantinedInstances: s.quarantinedInstances, feed: s.feed },
              null,
              2,
            ),
          );
        else printStatus(s);
      } finally {
        await app.stop();
      }
    });

  await program.parseAsync(argv);
  return exitCode;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof StoreError) {
      console.error(`bridge: ${err.message}`);
      process.exitCode = 2;
    } else {
      console.error(`bridge: ${safeMessage(err)}`);
      process.exitCode = 1;
    }
  },
);
