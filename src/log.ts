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
    .replace(/\borb_[A-Za-z0-9_-]+/g, 'orb_***')
    .replace(/\b(Basic|Bearer)\s+[A-Za-z0-9+/=._~-]+/gi, '$1 ***');
}

function redactFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_FIELD.test(k)) out[k] = '***';
    else if (typeof v === 'string') out[k] = redact(v);
    else if (v instanceof Error) out[k] = redact(v.message);
    else out[k] = v;
  }
  return out;
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
