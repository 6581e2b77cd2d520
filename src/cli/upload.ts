/** PUT of a built zip to the server, with a progress bar on a terminal and plain lines elsewhere. */
import { escapePath, escapeVersion } from '../goproxy/escape';
import type { Credential } from './credentials';

export interface Progress {
  update(sent: number): void;
  /** Ends the display: a success shows 100%, a refusal just ends the line. */
  done(ok: boolean): void;
}

const MiB = (n: number) => `${(n / (1 << 20)).toFixed(1)} MiB`;

/** A bar redrawn in place on a terminal (at most every 100 ms); elsewhere one line per quarter, so logs stay short. */
export function progressReporter(total: number, out: { write(s: string): unknown; isTTY?: boolean }): Progress {
  let last = -1;
  let lastDraw = 0;
  if (out.isTTY) {
    const draw = (sent: number) => {
      const frac = total === 0 ? 1 : sent / total;
      const width = 30;
      const fill = Math.round(frac * width);
      out.write(`\r[${'='.repeat(fill)}${' '.repeat(width - fill)}] ${Math.floor(frac * 100)}% ${MiB(sent)} / ${MiB(total)}`);
    };
    return {
      update(sent) {
        const now = Date.now();
        if (now - lastDraw < 100 && sent < total) return;
        lastDraw = now;
        draw(sent);
      },
      done(ok) {
        if (ok) draw(total);
        out.write('\n');
      },
    };
  }
  return {
    update(sent) {
      const quarter = total === 0 ? 4 : Math.floor((sent / total) * 4);
      if (quarter <= last) return;
      last = quarter;
      out.write(`uploaded ${quarter * 25}% (${MiB(sent)} of ${MiB(total)})\n`);
    },
    done(ok) {
      if (ok && last < 4) out.write(`uploaded 100% (${MiB(total)})\n`);
    },
  };
}

export function zipUploadUrl(server: string, repository: string, modulePath: string, version: string): string {
  return `${server.replace(/\/+$/, '')}/go/${encodeURIComponent(repository)}/${escapePath(modulePath)}/@v/${escapeVersion(version)}.zip`;
}

export interface UploadOutcome {
  status: number;
  /** The JSON answer of a success, or the server's one-line reason for a refusal. */
  body: string;
}

export async function uploadZip(url: string, file: string, credential: Credential | null, progress: Progress): Promise<UploadOutcome> {
  const blob = Bun.file(file);
  const size = blob.size;
  const source = blob.stream().getReader();
  let sent = 0;
  progress.update(0);
  const body = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      const r = await source.read();
      if (r.done) {
        ctrl.close();
        return;
      }
      sent += r.value.length;
      progress.update(sent);
      ctrl.enqueue(r.value);
    },
    cancel: (reason) => source.cancel(reason),
  });
  const headers: Record<string, string> = { 'content-type': 'application/zip', 'content-length': String(size) };
  if (credential) headers.authorization = credential.header;
  // A PUT body cannot be replayed after a redirect: a redirect is reported, not followed.
  const res = await fetch(url, { method: 'PUT', body, headers, redirect: 'manual', duplex: 'half' } as RequestInit);
  progress.done(res.ok);
  return { status: res.status, body: (await res.text()).trim() };
}
