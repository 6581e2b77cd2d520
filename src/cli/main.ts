#!/usr/bin/env bun
/** The orbitrepos-go command (package.json "bin"): one subcommand so far, publish. */
import { PUBLISH_USAGE, runPublish } from './publish';

const [command, ...rest] = process.argv.slice(2);
const io = { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr };

if (command === 'publish') {
  process.exitCode = await runPublish(rest, io);
} else {
  process.stderr.write(
    command && command !== 'help' && command !== '--help' ? `orbitrepos-go: unknown command ${JSON.stringify(command)}\n\n` : '',
  );
  process.stderr.write(PUBLISH_USAGE);
  process.exitCode = command && command !== 'help' && command !== '--help' ? 2 : 0;
}
