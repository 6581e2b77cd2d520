import type { Arriving, GoFile } from './repository';

/**
 * The end-of-central-directory record (22 bytes) plus the longest zip comment (65,535): a body that
 * holds back this many final bytes never hands out the record that makes a zip readable, so a client
 * of an unchecked fill cannot end up with a complete bad zip, whatever the zip's comment.
 */
export const HELD_TAIL_BYTES = 22 + 65_535;
/** How far the client may lag behind the fill before the fill waits for it. */
const CLIENT_BUFFER_BYTES = 4 << 20;
/** A client that takes nothing for this long while the fill waits for it is cut loose (the fill goes on). */
export const DEFAULT_STALL_MS = 15_000;

type State = 'waiting' | 'taken' | 'gone';

/**
 * The request whose fill fetches a file: `tap` streams a big zip to it as it arrives; `checked` hands it a
 * small file's bytes once they pass every check, before they are stored (the fill then goes on storing them).
 */
export interface FirstClient {
  tap?: ArrivingBody;
  checked?: (bytes: Uint8Array<ArrayBuffer>) => void;
}

/**
 * A file's bytes as they arrive from an upstream, for the first client of a cold fill. The fill
 * pushes each chunk it stages; the client reads them a bounded buffer behind. The last
 * HELD_TAIL_BYTES are held back until the fill says the file is checked (finish), and the
 * body is aborted when it fails (fail): the client sees a broken transfer, never a complete bad file.
 *
 * The fill never waits long for its client: a client that goes away, declines, or stops reading for
 * stallMs is dropped, and the fill (which other callers may be waiting on) goes on at its own pace.
 */
export class ArrivingBody {
  readonly stream: ReadableStream<Uint8Array>;
  /** Resolves once the upstream has answered with the file (its announced length, or null). */
  readonly began: Promise<number | null>;
  private beginNow!: (length: number | null) => void;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private state: State = 'waiting';
  private wake?: () => void;
  private whole = false;

  /** onStall: told when a client that stopped reading was cut loose (for the log). */
  constructor(
    private readonly onStall: (stallMs: number) => void = () => {},
    private readonly stallMs = DEFAULT_STALL_MS,
  ) {
    this.began = new Promise((resolve) => (this.beginNow = resolve));
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: () => this.wake?.(),
        cancel: () => this.drop(),
      },
      { highWaterMark: CLIENT_BUFFER_BYTES, size: (chunk) => chunk?.byteLength ?? 0 },
    );
  }

  begin(length: number | null): void {
    this.beginNow(length);
  }

  /** The body, to the one client that serves it; undefined when it was taken or dropped already. */
  take(): ReadableStream<Uint8Array> | undefined {
    if (this.state !== 'waiting') return undefined;
    this.state = 'taken';
    return this.stream;
  }

  /** Nobody will read the body (the caller waits for the stored file instead): the fill stops feeding it. */
  decline(): void {
    if (this.state === 'waiting') this.drop();
  }

  /** Passes on a chunk the fill has staged; resolves when the client has room (or is gone). */
  async push(chunk: Uint8Array): Promise<void> {
    if (this.state === 'gone') return;
    this.held.push(chunk);
    this.heldBytes += chunk.byteLength;
    while (this.held.length > 1 && this.heldBytes - this.held[0].byteLength >= HELD_TAIL_BYTES) {
      const out = this.held.shift()!;
      this.heldBytes -= out.byteLength;
      this.controller.enqueue(out);
    }
    if ((this.controller.desiredSize ?? 1) > 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.drop();
        this.onStall(this.stallMs);
        resolve();
      }, this.stallMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Whether a client was given the whole file (finish came while it was reading). */
  get delivered(): boolean {
    return this.whole;
  }

  /** The file is checked (it is stored next): the held tail goes out and the body ends. */
  finish(): void {
    if (this.state === 'gone') return;
    this.whole = this.state === 'taken';
    for (const chunk of this.held) this.controller.enqueue(chunk);
    this.held = [];
    this.controller.close();
    this.state = 'gone';
  }

  /** The fill failed: the body is aborted, its held tail never sent. The fill's owner logs why. */
  fail(): void {
    this.drop();
  }

  private drop(): void {
    if (this.state === 'gone') return;
    this.state = 'gone';
    this.held = [];
    this.heldBytes = 0;
    try {
      // No reason: Bun's server prints any reason a body errors with (a stack per aborted fill); it resets the
      // connection either way, and the fill's failure is logged once, by the repository.
      this.controller.error();
    } catch {}
    this.wake?.();
  }
}

/**
 * The body's chunks passed on to `tap` as they are read (after `tap` has room for each), for a reader
 * that reads one chunk at a time (stageBlob): the client gets what is staged, at the staging's pace.
 */
export function tapped(body: ReadableStream<Uint8Array>, tap: ArrivingBody | undefined): ReadableStream<Uint8Array> {
  if (!tap) return body;
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        await tap.push(value);
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

/**
 * A GoFile for a fill in progress: `arriving` is the live body for the first plain GET; anything else
 * (a second open, a range, a HEAD) declines the live body and waits for the stored file.
 */
export function arrivingFile(body: ArrivingBody, length: number | null, stored: Promise<GoFile>): GoFile {
  const arriving: Arriving = {
    length,
    take: () => body.take(),
    stored: () => {
      body.decline();
      return stored;
    },
  };
  return {
    size: length ?? -1,
    etag: '',
    arriving,
    transient: true,
    open: async (range) => (await arriving.stored()).open(range),
  };
}

/** The file once stored: itself for a stored file, else (declining its live body) the stored one when its fill ends. */
export async function storedFile(file: GoFile): Promise<GoFile> {
  return file.arriving ? file.arriving.stored() : file;
}
