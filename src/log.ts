import { batchedStdout } from './log-stdout';

/** Minimal structured logger. Everything passes through redact(): credentials never reach a log line. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  /**
   * What an operator chasing a problem wants and nobody wants always (ORBITREPO_LOG_LEVEL=debug): each
   * upstream request and each proxy fill. Only on paths that already wait for an upstream, never on a
   * warm answer. Empty (a host's own logger may have none): such lines are not written.
   */
  debug?(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /**
   * A whole JSON line its caller built and redacted itself, at info level (the level and the format apply
   * as to info()): the access log's line per request, which costs less built as text than as an object
   * (src/http/access-line.ts). Empty (a host's own logger may have none): the caller uses info() instead.
   */
  infoLine?(jsonLine: string): void;
}

const SECRET_FIELD = /pass(word)?|secret|token|authorization|cookie/i;

/** What every pattern below needs in the text: most text (an access line's path) has none of it and is returned as is. */
const MAY_HOLD_SECRET = /:\/\/|:[^\s/@]+@|orb_|basic|bearer/i;

/** Removes userinfo from URLs and secret-looking values from text. */
export function redact(text: string): string {
  if (!MAY_HOLD_SECRET.test(text)) return text;
  return (
    text
      .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@')
      // user:secret@ without a scheme in front, as in a URL path a client wrote (a proxy may have folded its //).
      .replace(/(^|[\s/(])[^\s/@:]+:[^\s/@]+@/g, '$1***@')
      .replace(/\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]+/gi, '$1 ***')
      .replace(/\borb_[A-Za-z0-9_-]+/g, 'orb_***')
  );
}

/** Whether a field name is secret-looking, remembered per name (the same few names come on every line). */
const secretNames = new Map<string, boolean>();
function isSecretName(k: string): boolean {
  let secret = secretNames.get(k);
  if (secret === undefined) {
    secret = SECRET_FIELD.test(k);
    if (secretNames.size < 10_000) secretNames.set(k, secret);
  }
  return secret;
}

/** Every value a log line carries, at any depth: secret-named fields blanked, text and error messages redacted. */
function redactValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return redact(v);
  if (v instanceof Error) return redact(v.message);
  if (v === null || typeof v !== 'object') return v;
  if (depth >= 6) return '[nested too deep]';
  if (Array.isArray(v)) return v.map((x) => redactValue(x, depth + 1));
  if (v instanceof Date) return v;
  const out: LogFields = {};
  for (const k in v) if (Object.hasOwn(v, k)) out[k] = isSecretName(k) ? '***' : redactValue((v as LogFields)[k], depth + 1);
  return out;
}

export function redactFields(fields: LogFields): LogFields {
  return redactValue(fields) as LogFields;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFormat = 'json' | 'text';

/** Where lines go: anything with write(line), such as a stream (tests collect lines in memory). */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** Lines below this level are dropped. Empty: info. */
  level?: LogLevel;
  /** json: one JSON object a line. text: `time LEVEL message key=value …` for people. Empty: text on a terminal, else json. */
  format?: LogFormat;
  /** Empty: stdout, batched (batchedStdout). */
  destination?: LogDestination;
  /** Fields added to every line, asked for at each line (e.g. the request id of the request being served). */
  context?: () => LogFields;
}

/** `12:00:00.000 INFO  message key=value …`: for a person at a terminal; machines get JSON. */
export function textLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line);
  } catch {
    return line;
  }
  const { time, level, msg, ...rest } = o;
  const clock = typeof time === 'string' ? time.slice(11, 23) : '';
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/[\s"=]/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${clock} ${String(level).toUpperCase().padEnd(5)} ${msg}${fields ? ` ${fields}` : ''}\n`;
}

const LEVELS: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };

let isoMs = -1;
let isoText = '';

/** The time of a line, ISO 8601: one string per millisecond, not one per line (a busy server writes dozens a millisecond). */
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/**
 * One JSON line in pino's format: level, time, the context's fields, the line's fields, msg last; undefined
 * fields left out. Written here rather than by a library: the access log writes one per request, and pino's
 * generic path (mixin merge, per-key serializers) cost more than answering a warm request.
 */
function jsonLine(level: string, msg: string, context: LogFields | undefined, fields: LogFields | undefined): string {
  const line: LogFields = { level, time: isoNow() };
  if (context) for (const k in context) line[k] = context[k];
  // The fields are redacted as they are copied in (one copy, not a redacted copy copied again).
  if (fields) for (const k in fields) if (Object.hasOwn(fields, k)) line[k] = isSecretName(k) ? '***' : redactValue(fields[k], 1);
  line.msg = msg;
  try {
    return `${JSON.stringify(line)}\n`;
  } catch {
    // A value JSON cannot write (a BigInt): the line still says what happened.
    return `${JSON.stringify({ level, time: line.time, ...context, msg, unserializable: true })}\n`;
  }
}

/**
 * The logger of the server: JSON lines (pino's format), our redaction in front, so every message and field
 * passes through redact() whatever a caller hands over.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? (process.stdout.isTTY ? 'text' : 'json');
  const out = opts.destination ?? batchedStdout();
  const flushNow = 'flush' in out && typeof out.flush === 'function' ? () => (out as { flush(): void }).flush() : undefined;
  const destination = format === 'text' ? { write: (line: string) => out.write(textLine(line)) } : out;
  const threshold = LEVELS[opts.level ?? 'info'];
  const context = opts.context;
  const write = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: LogFields) => {
    if (LEVELS[level] < threshold) return;
    destination.write(jsonLine(level, redact(message), context?.(), fields));
    // Warnings and errors are rare and wanted at once (the next thing may be a crash).
    if (level === 'warn' || level === 'error') flushNow?.();
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    infoLine: (line) => {
      if (LEVELS.info >= threshold) destination.write(line);
    },
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

/** JSON lines on stdout (kept for callers of the first logger); `silent` drops everything. */
export function consoleLogger(opts: { silent?: boolean } & LoggerOptions = {}): Logger {
  return createLogger({ ...opts, level: opts.silent ? 'silent' : opts.level });
}

const noop = () => {};
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
