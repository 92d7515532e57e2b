// Escaping for the HTML report: every piece of text that reaches the page goes through esc().
// Student output is untrusted, and so are lab names and commands: nothing is inserted raw.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

// Text or attribute value -> safe HTML (quotes escaped too, so it fits inside attr="...").
export function esc(value: unknown): string {
  // Terminal colour codes are dropped; other control characters (but tab/newline) show as dots.
  return String(value ?? '')
    .replace(/\x1b\[[0-9;?]*[ -\/]*[@-~]/g, '')
    .replace(/\r\n?/g, '\n')
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '·');
}

// A relative link target from the run data: refuses schemes (javascript:, http:) and absolute paths.
export function safeRelativeHref(path: string): string | null {
  if (!path || /^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('/') || path.startsWith('\\') || path.includes('..')) return null;
  return path.split('/').map(encodeURIComponent).join('/');
}
