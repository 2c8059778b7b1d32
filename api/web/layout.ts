// The page frame after the manual's Cybertrust Managed PKI screens: title bar, menu on the left, content, footer.
import { html, SafeHtml } from './html';

export interface MenuEntry {
  label: string;
  /** Absent: shown as a heading (証明書発行申請…) or as an entry of the manual not offered here. */
  href?: string;
  /** Shown as a heading whatever its label (the console's menu). */
  heading?: boolean;
}

export interface PageOptions {
  title: string;
  menu?: MenuEntry[];
  /** Links in the title bar (トップへ, ログアウト). */
  topLinks?: MenuEntry[];
  body: SafeHtml;
  /** Seconds until the page reloads itself (the renewal's processing page). */
  refreshSeconds?: number;
  /** CSS added after the frame's own (the console's wider tables). */
  style?: string;
}

const STYLE = `
body{margin:0;font-family:"Meiryo","Hiragino Kaku Gothic ProN","Noto Sans CJK JP",sans-serif;font-size:14px;color:#222;background:#fff}
header{background:#00467f;color:#fff;padding:10px 18px;display:flex;justify-content:space-between;align-items:center}
header .brand{font-size:18px;font-weight:bold;letter-spacing:.02em}
header a{color:#fff;margin-left:14px}
.wrap{display:flex;min-height:calc(100vh - 90px)}
nav{width:190px;background:#eef3f8;border-right:1px solid #c9d6e3;padding:12px 0}
nav .heading{font-weight:bold;padding:8px 14px 4px;color:#00467f}
nav a,nav span.off{display:block;padding:4px 14px 4px 24px}
nav span.off{color:#888}
main{flex:1;padding:18px 28px;max-width:760px}
h1{font-size:18px;border-bottom:2px solid #00467f;padding-bottom:4px}
table.form th{text-align:left;padding:6px 14px 6px 0;font-weight:normal;white-space:nowrap}
table.list{border-collapse:collapse}
table.list th,table.list td{border:1px solid #c9d6e3;padding:4px 10px}
table.list th{background:#eef3f8}
input[type=text],input[type=password]{width:240px;padding:3px}
button{padding:4px 22px;margin-top:10px}
.error{color:#b00020;border:1px solid #b00020;background:#fff3f4;padding:8px 12px;margin:10px 0}
.note{color:#444;font-size:13px}
.note strong{color:#b00020}
footer{border-top:1px solid #c9d6e3;padding:6px 18px;color:#00467f;font-weight:bold}
`;

function menuEntry(entry: MenuEntry, headingLabels: ReadonlySet<string>): SafeHtml {
  if (entry.href) return html`<a href="${entry.href}">${entry.label}</a>`;
  if (entry.heading || headingLabels.has(entry.label)) return html`<div class="heading">${entry.label}</div>`;
  return html`<span class="off" title="この画面は提供していません">${entry.label}</span>`;
}

const HEADINGS = new Set(['証明書発行申請', '証明書の管理', '証明書の更新']);

export function page(options: PageOptions): string {
  const refresh = options.refreshSeconds ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}">` : '';
  return html`<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
${refresh}<title>${options.title} - Cybertrust Managed PKI</title><style>${new SafeHtml(STYLE + (options.style ?? ''))}</style></head>
<body><header><span class="brand">Cybertrust Managed PKI</span><span>${(options.topLinks ?? []).map((l) => html`<a href="${l.href}">${l.label}</a>`)}</span></header>
<div class="wrap">${options.menu ? html`<nav>${options.menu.map((m) => menuEntry(m, HEADINGS))}</nav>` : ''}
<main><h1>${options.title}</h1>
${options.body}
</main></div>
<footer>cybertrust</footer></body></html>`.value;
}

export function errorBox(message: string | undefined): SafeHtml {
  return message ? html`<div class="error" role="alert">${message}</div>` : html``;
}

/** The hidden one-time form token every form carries. */
export function formToken(token: string): SafeHtml {
  return html`<input type="hidden" name="formToken" value="${token}">`;
}
