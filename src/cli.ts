#!/usr/bin/env node
// The `bridge` command (package.json "bin"): the command line lives in cli/, one file per command group.
import './cli/index';
