import { BadUpstream, UpstreamMissing, UpstreamRefused, UpstreamTimeout } from '../errors';
import { readLimited } from './read-limited';

/** Configuration of one upstream GOPROXY; every empty field has the default named beside it. */
export interface UpstreamConfig {
  /** Base URL of any GOPROXY-protocol server, possibly with a path; a trailing slash is ignored. */
  baseUrl: string;
  /** Basic credentials for a private upstream; empty: anonymous. Never appears in a message. */
  username?: string;
  password?: string;
  /**
   * Bun's fetch does not report when the TCP/TLS connection is up, so the wait for the response
   * headers is bounded by connect + response timeout together: connect, then the upstream's think time.
   * Empty: 10 s.
   */
  connectTimeoutMs?: number;
  /** The longest silence allowed before the headers (added to the connect timeout) and between body chunks. Empty: 60 s. */
  responseTimeoutMs?: number;
  /** Further attempts after a 5xx, 429 or connection error, before any body byte was read. Empty: 2. */
  retries?: number;
  /** Delay before the first retry; doubles for each next one. Empty: 200 ms. */
  retryDelayMs?: number;
  /** Empty: the global fetch (tests may count or fake calls). */
  fetch?: typeof fetch;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_RESPONSE_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 5;

/** A failure worth another attempt: a 5xx/429, or no connection at all. */
class Retryable extends BadUpstream {}

export interface UpstreamBody {
  /** The URL asked (credential-free), for messages. */
  url: string;
  contentType: string | null;
  /** Content-Length when the upstream sent one; the body errors if the bytes disagree. */
  contentLength: number | null;
  /**
   * The body. It errors with BadUpstream when the connection drops or the length disagrees with
   * Content-Length, and with UpstreamTimeout after responseTimeoutMs of silence: a truncated body
   * never ends as if it were whole.
   */
  body: ReadableStream<Uint8Array>;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener('abort', abort, { once: true });
  });

/** First line of an upstream error body, short: the go command shows our message verbatim. */
async function errorDetail(res: Response): Promise<string> {
  try {
    const text = (await res.text()).split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
    return text.length > 200 ? `${text.slice(0, 200)}…` : text.trim();
  } catch {
    return '';
  }
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/**
 * A GOPROXY client: timeouts, bounded retries with backoff, redirects, and one error vocabulary
 * (UpstreamMissing 404, BadUpstream 502, UpstreamTimeout 504), each message naming the URL and
 * what the upstream did.
 */
export class UpstreamClient {
  readonly baseUrl: string;
  private readonly connectMs: number;
  private readonly responseMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly authorization?: string;
  private readonly fetchFn: typeof fetch;

  constructor(config: UpstreamConfig) {
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    this.connectMs = config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.responseMs = config.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS;
    this.retries = config.retries ?? 2;
    this.retryDelayMs = config.retryDelayMs ?? 200;
    this.fetchFn = config.fetch ?? fetch;
    if (config.username || config.password) {
      this.authorization = `Basic ${Buffer.from(`${config.username ?? ''}:${config.password ?? ''}`).toString('base64')}`;
    }
  }

  url(path: string): string {
    return `${this.baseUrl}/${path}`;
  }

  /** GET of a 200 answer, its body still streaming. Retries happen only before the body is handed out. */
  async open(path: string, signal: AbortSignal): Promise<UpstreamBody> {
    const url = this.url(path);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(url, signal);
      } catch (err) {
        if (!(err instanceof Retryable) || attempt >= this.retries || signal.aborted) {
          throw err instanceof Retryable ? new BadUpstream(err.message) : err;
        }
        const delay = this.retryDelayMs * 2 ** attempt;
        await sleep(delay / 2 + Math.random() * delay, signal);
      }
    }
  }

  /** The whole body of a small answer (.info, .mod, list, sumdb), refusing more than maxBytes. */
  async bytes(
    path: string,
    signal: AbortSignal,
    maxBytes: number,
  ): Promise<{ bytes: Uint8Array<ArrayBuffer>; contentType: string | null; url: string }> {
    const res = await this.open(path, signal);
    if (res.contentLength !== null && res.contentLength > maxBytes) {
      await res.body.cancel().catch(() => {});
      throw new BadUpstream(`upstream ${res.url} sent ${res.contentLength} bytes, more than the limit of ${maxBytes}`);
    }
    const bytes = await readLimited(
      res.body,
      maxBytes,
      () => new BadUpstream(`upstream ${res.url} sent more than the limit of ${maxBytes} bytes`),
    );
    return { bytes, contentType: res.contentType, url: res.url };
  }

  private async attempt(url: string, signal: AbortSignal): Promise<UpstreamBody> {
    signal.throwIfAborted();
    // One controller per attempt: the caller's signal, the header deadline and the idle timer all end it.
    const ctl = new AbortController();
    const onAbort = () => ctl.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const headerMs = this.connectMs + this.responseMs;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctl.abort();
    }, headerMs);
    const release = () => signal.removeEventListener('abort', onAbort);
    let current = url;
    try {
      for (let hops = 0; ; hops++) {
        let res: Response;
        try {
          res = await this.fetchFn(current, {
            signal: ctl.signal,
            redirect: 'manual',
            headers: this.headersFor(current),
          });
        } catch (err) {
          if (timedOut) throw new UpstreamTimeout(`upstream ${url} did not answer within ${headerMs} ms`);
          if (signal.aborted) throw signal.reason;
          throw new Retryable(`upstream ${url} could not be reached: ${describe(err)}`);
        }
        const location = res.headers.get('location');
        if (res.status >= 300 && res.status < 400 && location) {
          await res.body?.cancel().catch(() => {});
          if (hops >= MAX_REDIRECTS) throw new BadUpstream(`upstream ${url} redirected more than ${MAX_REDIRECTS} times`);
          current = new URL(location, current).toString();
          continue;
        }
        if (res.status === 200) {
          clearTimeout(timer);
          return this.guard(res, url, ctl, signal, release);
        }
        const detail = await errorDetail(res);
        const said = `upstream ${url} answered ${res.status}${detail ? `: ${detail}` : ''}`;
        if (res.status === 404 || res.status === 410) throw new UpstreamMissing(res.status, said);
        if (res.status >= 500 || res.status === 429) throw new Retryable(said);
        if (res.status === 401 || res.status === 403) throw new UpstreamRefused(said);
        throw new BadUpstream(said);
      }
    } catch (err) {
      clearTimeout(timer);
      release();
      ctl.abort();
      throw err;
    }
  }

  /** Credentials go only to the configured upstream's origin, never to where it redirects elsewhere. */
  private headersFor(url: string): Record<string, string> {
    const headers: Record<string, string> = { 'User-Agent': 'OrbitRepos-proxy', 'Accept-Encoding': 'identity' };
    if (this.authorization && new URL(url).origin === new URL(this.baseUrl).origin) headers.Authorization = this.authorization;
    return headers;
  }

  private guard(res: Response, url: string, ctl: AbortController, signal: AbortSignal, release: () => void): UpstreamBody {
    const lengthHeader = res.headers.get('content-length');
    const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
    // A body the fetch decoded has another length than the header says; only the framing can vouch for it then.
    const expected = lengthHeader !== null && /^\d+$/.test(lengthHeader) && !encoded ? Number(lengthHeader) : null;
    const idleMs = this.responseMs;
    const source = res.body?.getReader();
    let received = 0;
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    let idled = false;
    const finish = () => {
      clearTimeout(idleTimer);
      release();
    };
    const fail = (controller: ReadableStreamDefaultController<Uint8Array>, err: unknown) => {
      finish();
      ctl.abort();
      controller.error(err);
    };
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          if (!source) {
            finish();
            return expected ? fail(controller, new BadUpstream(`upstream ${url} sent no body`)) : controller.close();
          }
          // Only the upstream's silence counts, not how slowly our consumer reads.
          idleTimer = setTimeout(() => {
            idled = true;
            ctl.abort();
          }, idleMs);
          let chunk: Awaited<ReturnType<NonNullable<typeof source>['read']>>;
          try {
            chunk = await source.read();
          } catch (err) {
            if (idled) return fail(controller, new UpstreamTimeout(`upstream ${url} went silent for ${idleMs} ms after ${received} bytes`));
            if (signal.aborted) return fail(controller, signal.reason);
            const of = expected !== null ? ` of ${expected}` : '';
            return fail(
              controller,
              new BadUpstream(`upstream ${url} dropped the connection after ${received}${of} bytes (${describe(err)})`),
            );
          }
          clearTimeout(idleTimer);
          if (chunk.done) {
            if (expected !== null && received !== expected) {
              return fail(controller, new BadUpstream(`upstream ${url} sent ${received} of ${expected} bytes`));
            }
            finish();
            return controller.close();
          }
          received += chunk.value.byteLength;
          if (expected !== null && received > expected) {
            return fail(controller, new BadUpstream(`upstream ${url} sent more than the ${expected} bytes it announced`));
          }
          controller.enqueue(chunk.value);
        },
        async cancel(reason) {
          finish();
          ctl.abort(reason);
          await source?.cancel(reason).catch(() => {});
        },
      },
      { highWaterMark: 0 },
    );
    return { url, contentType: res.headers.get('content-type'), contentLength: expected, body };
  }
}

/** True for the errors that mean "the upstream did not deliver" (stale-if-error applies), not "it said no". */
export function isUpstreamFailure(err: unknown): boolean {
  return err instanceof BadUpstream || err instanceof UpstreamTimeout;
}
