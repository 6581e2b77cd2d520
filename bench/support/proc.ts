import { readFileSync } from 'node:fs';

/** CPU time (user + system) process `pid` has used, in milliseconds (Linux /proc, in clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
