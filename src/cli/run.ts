/** The commands that run the bridge: run (daemon or --once), process, status. */
import { BridgeApp, formatSummary } from '../app';
import { config, orthancIdArg, printStatus, withApp, type Cli } from './common';

export function registerRun(cli: Cli): void {
  const { program } = cli;
  program
    .command('run')
    .description('follow the change log, process studies, serve the API and run the schedules')
    .option('--once', 'catch up with the change log, process every queued study, print a summary and exit')
    .action(async (o: { once?: boolean }) => {
      const cfg = config(cli);
      if (o.once) {
        const app = await BridgeApp.open(cfg, { console: false });
        try {
          const summary = await app.runOnce();
          console.log(formatSummary(summary));
          cli.exitCode = summary.ok ? 0 : 1;
        } finally {
          await app.stop();
        }
        return;
      }
      const app = await BridgeApp.open(cfg);
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
          cli.exitCode = 2;
          stop('store failure');
        });
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        // SIGHUP: read the configuration again; a valid one takes over for new jobs, an invalid
        // one is refused and the running configuration stays.
        process.on('SIGHUP', () => {
          void (async () => {
            try {
              await app.reload(config(cli));
            } catch (err) {
              app.log.error('configuration reload rejected; the running configuration stays', {
                error: err instanceof Error ? err.message : 'unknown error',
              });
            }
          })();
        });
      });
    });

  program
    .command('process <orthancStudyId>')
    .description('carry one clinical study across now')
    .action((studyId: string) =>
      withApp(cli, async (app) => {
        orthancIdArg('process <orthancStudyId>', studyId);
        const r = await app.service.queueStudy(studyId, 'cli');
        if (!r.known) {
          console.error(`bridge: no study ${studyId} in the clinical Orthanc`);
          cli.exitCode = 1;
          return;
        }
        const summary = await app.runOnce({ poll: false });
        console.log(formatSummary(summary));
        cli.exitCode = summary.ok ? 0 : 1;
      }),
    );

  program
    .command('status')
    .description('counts of jobs per state, quarantine and the change feed position')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      withApp(cli, async (app) => {
        const s = await app.service.status();
        if (!o.json) return printStatus(s);
        console.log(
          JSON.stringify(
            {
              jobs: s.jobs,
              quarantinedInstances: s.quarantinedInstances,
              feed: s.feed,
              state: s.state,
              replicas: s.replicas.map(({ self: _self, ...r }) => r),
            },
            null,
            2,
          ),
        );
      }),
    );
}
