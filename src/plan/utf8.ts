/**
 * Decoding of plan documents given as bytes. UTF-8 only; when the bytes are not UTF-8, the
 * line and column of the first bad byte, so the error can point at it.
 */

/** The text, or the one-based line and column (in characters) of the first byte that is not UTF-8. */
export function decodeUtf8(bytes: Uint8Array): { ok: true; text: string } | { ok: false; line: number; column: number } {
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { ok: false, ...firstInvalid(bytes) };
  }
}

// Only reached on the error path, so clarity over speed.
function firstInvalid(bytes: Uint8Array): { line: number; column: number } {
  let line = 1;
  let column = 1;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > bytes.length) break;
    // The second byte's range is narrower after E0, ED, F0 and F4 (no overlongs, no surrogates, nothing past U+10FFFF).
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    let valid = true;
    for (let k = 1; k < len; k++) {
      const c = bytes[i + k] as number;
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) valid = false;
    }
    if (!valid) break;
    if (b === 0x0a) {
      line++;
      column = 1;
    } else {
      column++; // columns count characters, as saxes' do
    }
    i += len;
  }
  return { line, column };
}
