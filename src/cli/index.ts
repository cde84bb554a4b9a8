#!/usr/bin/env node
/** The bridge's command line: one file per command group, each calling the application service. */
import { Command } from 'commander';
import { BridgeError, ConfigError, safeMessage, StoreError } from '../errors';
import type { Cli } from './common';
import { registerDoctor } from './doctor';
import { registerQuarantine } from './quarantine';
import { registerReid } from './reid';
import { registerReports } from './reports';
import { registerReprocess } from './reprocess';
import { registerRun } from './run';

async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name('bridge')
    .description(
      'De-identify studies from a clinical Orthanc and push verified instances to a research Orthanc',
    )
    .option('-c, --config <file>', 'config file merged over config/default.json (or BRIDGE_CONFIG)')
    .showHelpAfterError();
  const cli: Cli = { program, exitCode: 0 };
  registerRun(cli);
  registerQuarantine(cli);
  registerReports(cli);
  registerReprocess(cli);
  registerReid(cli);
  registerDoctor(cli);
  await program.parseAsync(argv);
  return cli.exitCode;
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
