// Text from a guest (command output, console lines, a submission's stderr) is untrusted: printed raw,
// it could erase lines, fake a "22/22", retitle the window or write the clipboard (OSC 52). Every such
// text passes through here before it reaches a terminal: escape sequences are removed whole, other
// control characters shown as visible symbols. Newlines and tabs stay.

// ESC-introduced sequences: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC (up to BEL or ST), and the
// two-character ones; then the 8-bit C1 forms of CSI and OSC.
const SEQUENCES = /\x1b(?:\[[0-?]*[ -/]*[@-~]|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -/]*[0-~])|\x9b[0-?]*[ -/]*[@-~]|\x9d[^\x07\x9c]*[\x07\x9c]?/g;
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafe(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(SEQUENCES, '').replace(CONTROLS, (ch) => {
    const code = ch.charCodeAt(0);
    if (code < 0x20) return String.fromCharCode(0x2400 + code); // ␀…␟ control pictures
    return code === 0x7f ? '␡' : '�';
  });
}

/** A copy of an object whose string fields (one level deep) are terminal-safe. */
export function terminalSafeFields<T extends object>(o: T): T {
  const out = { ...o } as Record<string, unknown>;
  for (const [k, v] of Object.entries(out)) if (typeof v === 'string') out[k] = terminalSafe(v);
  return out as T;
}
