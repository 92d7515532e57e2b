// The shell every netlab HTML page shares: self-contained, offline, and a Content-Security-Policy
// that allows only the page's own inline style (and script) by hash, and no network at all.
import { createHash } from 'node:crypto';
import { esc } from './html-escape.ts';

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

export interface HtmlPage {
  /** Plain text; escaped here. */
  title: string;
  css: string;
  /** Inline script, if the page has one. */
  script?: string;
  /** Allow data: images (the report's inline pictures). */
  dataImages?: boolean;
  /** Attributes of <body>, already escaped, e.g. ` data-status="passed"`. */
  bodyAttributes?: string;
  /** The contents of <main>, already HTML. */
  main: string;
}

export function htmlDocument(p: HtmlPage): string {
  const csp = [`default-src 'none'`, `style-src ${sha256(p.css)}`, ...(p.script !== undefined ? [`script-src ${sha256(p.script)}`] : []),
    ...(p.dataImages ? ['img-src data:'] : []), `base-uri 'none'`, `form-action 'none'`].join('; ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light dark">
<title>${esc(p.title)}</title>
<style>${p.css}</style>
</head>
<body${p.bodyAttributes ?? ''}>
<main>
${p.main}
</main>
${p.script !== undefined ? `<script>${p.script}</script>\n` : ''}</body>
</html>
`;
}
