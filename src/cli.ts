#!/usr/bin/env -S node --max-semi-space-size=2
// The `bridge` command (package.json "bin"): the command line lives in cli/, one file per command group.
// The flag keeps V8's young generation small (2 MB semi-spaces instead of 16 MB): the short-lived
// objects of each instance are collected often, so peak RSS follows the bytes in flight (165-201 MB
// instead of 231-247 MB on the benchmark corpus, at the same speed; docs/PERFORMANCE.md).
// Run as `node dist/cli.js`, pass it yourself: `node --max-semi-space-size=2 dist/cli.js`.
import './cli/index';
