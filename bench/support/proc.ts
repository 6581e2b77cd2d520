import { readFileSync } from 'node:fs';

/** CPU time (user + system) process `pid` has used, in milliseconds (Linux /proc, in clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A memory figure of process `pid` from /proc/PID/status, in bytes: its resident set now, or its high-water mark. */
export function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

/** The resident set of process `pid`, in bytes. */
export const rssBytes = (pid: number) => statusBytes(pid, 'VmRSS');
