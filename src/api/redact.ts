/** Log paths that may carry a secret; pino replaces them with `[redacted]`. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  '*.password',
  '*.token',
  '*.secret',
  '*.secrets',
  '*.clientSecret',
];
