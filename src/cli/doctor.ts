/** bridge doctor: every first-run problem at once, each with its fix; exit 0 only when all pass. */
import { runDoctor } from '../doctor';
import type { Cli } from './common';

export function registerDoctor(cli: Cli): void {
  cli.program
    .command('doctor')
    .description(
      'check the configuration, secrets, both Orthancs, the Explorer plugin, the state store, disk and clocks',
    )
    .option('--json', 'print the findings as JSON')
    .action(async (o: { json?: boolean }) => {
      const findings = await runDoctor({
        // The one place besides `config` the process environment is handed over.
        // eslint-disable-next-line no-restricted-properties
        env: process.env,
        configPath: (cli.program.opts() as { config?: string }).config,
      });
      const problems = findings.filter((f) => !f.ok);
      if (o.json)
        process.stdout.write(JSON.stringify({ ok: problems.length === 0, findings }, null, 2) + '\n');
      else {
        for (const f of findings) {
          console.log(`${f.ok ? 'ok  ' : 'FAIL'}  ${f.check}: ${f.detail}`);
          if (!f.ok && f.fix) console.log(`      fix: ${f.fix}`);
        }
        console.log(
          problems.length === 0
            ? 'bridge doctor: everything a run needs is in place'
            : `bridge doctor: ${problems.length} problem(s)`,
        );
      }
      cli.exitCode = problems.length === 0 ? 0 : 1;
    });
}
