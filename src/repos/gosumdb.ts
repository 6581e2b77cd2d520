import { type GoSumdb, parseGosumdb } from '../goproxy/sumdb-record';

let goCommandDefault: { value: GoSumdb | undefined } | undefined;

/**
 * The checksum database proxy repositories verify against: `setting` (ORBITREPO_GOSUMDB, GOSUMDB
 * syntax, "off" for none), else the go command's (`go env GOSUMDB`, asked once per process). Its
 * default name is a registry host, which this project never writes; without Go installed it is
 * unknown, and ORBITREPO_GOSUMDB must name a database for proxy repositories to verify.
 */
export function resolveGosumdb(setting: string | undefined): GoSumdb | undefined {
  if (setting !== undefined) {
    try {
      return parseGosumdb(setting);
    } catch (err) {
      throw new Error(`ORBITREPO_GOSUMDB: ${(err as Error).message}`);
    }
  }
  if (!goCommandDefault) {
    let value: GoSumdb | undefined;
    try {
      const run = Bun.spawnSync(['go', 'env', 'GOSUMDB'], { stdout: 'pipe', stderr: 'ignore' });
      if (run.exitCode === 0) value = parseGosumdb(run.stdout.toString());
    } catch {
      value = undefined; // no go command, or a value it would refuse too
    }
    goCommandDefault = { value };
  }
  return goCommandDefault.value;
}
