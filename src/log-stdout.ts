import { write as writeAsync, writeSync } from 'node:fs';

/** Longest a line waits in the buffer of `batchedStdout` before it is written. */
export const LOG_FLUSH_MS = 20;
const LOG_FLUSH_BYTES = 64 * 1024;
/** Encoded lines waiting for a reader that does not keep up; past this, new lines are dropped (not the server's memory). */
const LOG_QUEUE_MAX_BYTES = 64 * 1024 * 1024;
/** A full non-blocking pipe is tried again after this long. */
const RETRY_MS = 10;

/**
 * A file descriptor (stdout) with the lines of one moment written together: a line is buffered, and the
 * buffer is encoded once and queued after LOG_FLUSH_MS, or at once past 64 KiB, or when the process exits.
 * One write(2) per line was a quarter of the server's CPU on warm answers (one access-log line each).
 *
 * The queue is written asynchronously, one write at a time: a slow reader (a full pipe) never stalls the
 * server in write(2), and a reader stuck for good costs at most LOG_QUEUE_MAX_BYTES of lines, the rest
 * dropped. A partial write sends the rest of the same bytes next (no re-encoding, which a string queue
 * would do on every partial write to a pipe). A reader that went away (EPIPE) loses the lines; it does not
 * take the server down with it.
 */
export function batchedStdout(fd = 1): { write(line: string): boolean; flush(): void } {
  let lines: string[] = [];
  let lineChars = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const queue: Uint8Array[] = [];
  let queued = 0;
  let writing = false;
  let broken = false;

  const pump = () => {
    if (writing || broken || queue.length === 0) return;
    writing = true;
    const chunk = queue[0];
    writeAsync(fd, chunk, (err, written) => {
      writing = false;
      if (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          setTimeout(pump, RETRY_MS).unref?.();
          return;
        }
        broken = true;
        queue.length = 0;
        queued = 0;
        return;
      }
      queued -= written;
      if (written >= chunk.byteLength) queue.shift();
      else queue[0] = chunk.subarray(written);
      pump();
    });
  };

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (lines.length === 0) return;
    const bytes = Buffer.from(lines.length === 1 ? lines[0] : lines.join(''));
    lines = [];
    lineChars = 0;
    if (broken || queued + bytes.byteLength > LOG_QUEUE_MAX_BYTES) return;
    queue.push(bytes);
    queued += bytes.byteLength;
    pump();
  };

  process.once('exit', () => {
    flush();
    // A write under way is the pool's to finish; what waits behind it goes out now, in order.
    for (const chunk of writing ? queue.slice(1) : queue) {
      try {
        for (let at = 0; at < chunk.byteLength; ) at += writeSync(fd, chunk, at);
      } catch {
        // Nothing more can be done for the last lines of a process going away.
        return;
      }
    }
  });

  return {
    write(line: string) {
      lines.push(line);
      lineChars += line.length;
      if (lineChars >= LOG_FLUSH_BYTES) flush();
      else if (!timer) {
        timer = setTimeout(flush, LOG_FLUSH_MS);
        timer.unref?.();
      }
      return true;
    },
    flush,
  };
}
