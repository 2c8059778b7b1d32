// The contract, served: the OpenAPI document at /api/v1/openapi.json and a Swagger UI page at /api/v1/docs, with
// Swagger UI's files from the pinned swagger-ui-dist package (no CDN) and a CSP that allows only what the page loads.
import fs from 'node:fs';
import { z } from 'zod';
import { API_BASE, defineRoute, type SupportRoute } from './contract';

const DOCS = `${API_BASE}/docs`;

/** Self only; images also as data: URIs (Swagger UI's stylesheet draws its icons so); fetches of the document and "Try it out" to this origin. */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE_HEADERS = { 'Content-Security-Policy': DOCS_CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' };
const ASSET_HEADERS = { 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' };

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>certflow support API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${DOCS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="${DOCS}/swagger-ui-bundle.js"></script>
<script src="${DOCS}/init.js"></script>
</body>
</html>
`;

// A file, not an inline script, so the CSP needs no 'unsafe-inline'; validatorUrl null keeps the page from calling out.
const INIT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '${API_BASE}/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;

/** Read on first use and kept: a few hundred kB that never change while the process runs. */
function packageFile(file: string): () => string {
  let content: string | undefined;
  return () => (content ??= fs.readFileSync(require.resolve(`swagger-ui-dist/${file}`), 'utf8'));
}

const text = z.string();

/** The public routes of the contract; `document` is the whole API's OpenAPI document. */
export function docsRoutes(document: () => Record<string, unknown>): SupportRoute[] {
  const css = packageFile('swagger-ui.css');
  const bundle = packageFile('swagger-ui-bundle.js');
  return [
    defineRoute({
      operationId: 'openApiDocument',
      method: 'get',
      path: '/openapi.json',
      role: 'public',
      tag: 'contract',
      summary: 'This OpenAPI 3.1 document',
      answers: { 200: { description: 'the document', schema: z.record(z.string(), z.unknown()) } },
      run: async () => ({ status: 200, body: document() }),
    }),
    defineRoute({
      operationId: 'docsPage',
      method: 'get',
      path: '/docs',
      role: 'public',
      tag: 'contract',
      summary: 'The documentation page (Swagger UI) rendered from this document',
      answers: { 200: { description: 'the page', schema: text, mediaType: 'text/html' } },
      run: async () => ({ status: 200, body: PAGE, headers: PAGE_HEADERS }),
    }),
    defineRoute({
      operationId: 'docsStylesheet',
      method: 'get',
      path: '/docs/swagger-ui.css',
      role: 'public',
      tag: 'contract',
      summary: "The documentation page's stylesheet (swagger-ui-dist)",
      answers: { 200: { description: 'the stylesheet', schema: text, mediaType: 'text/css' } },
      run: async () => ({ status: 200, body: css(), headers: ASSET_HEADERS }),
    }),
    defineRoute({
      operationId: 'docsScript',
      method: 'get',
      path: '/docs/swagger-ui-bundle.js',
      role: 'public',
      tag: 'contract',
      summary: "The documentation page's script (swagger-ui-dist)",
      answers: { 200: { description: 'the script', schema: text, mediaType: 'text/javascript' } },
      run: async () => ({ status: 200, body: bundle(), headers: ASSET_HEADERS }),
    }),
    defineRoute({
      operationId: 'docsInit',
      method: 'get',
      path: '/docs/init.js',
      role: 'public',
      tag: 'contract',
      summary: 'Starts Swagger UI on this document',
      answers: { 200: { description: 'the script', schema: text, mediaType: 'text/javascript' } },
      run: async () => ({ status: 200, body: INIT, headers: ASSET_HEADERS }),
    }),
  ];
}
