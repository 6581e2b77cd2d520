/** Minimal structured logger. Everything passes through redact(): credentials never reach a log line. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const SECRET_FIELD = /pass(word)?|secret|token|authorization|cookie/i;

/** Removes userinfo from URLs and secret-looking values from text. */
export function redact(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@')
    .replace(/\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]+/gi, '$1 ***')
    .replace(/\borb_[A-Za-z0-9_-]+/g, 'orb_***');
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
  for (const [k, x] of Object.entries(v)) out[k] = SECRET_FIELD.test(k) ? '***' : redactValue(x, depth + 1);
  return out;
}

export function redactFields(fields: LogFields): LogFields {
  return redactValue(fields) as LogFields;
}

export function consoleLogger(opts: { silent?: boolean } = {}): Logger {
  const write = (level: string, message: string, fields?: LogFields) => {
    if (opts.silent) return;
    const line = { time: new Date().toISOString(), level, msg: redact(message), ...(fields ? redactFields(fields) : {}) };
    (level === 'error' ? console.error : console.log)(JSON.stringify(line));
  };
  return {
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

export const silentLogger: Logger = consoleLogger({ silent: true });
