// The console's imports from a CSV file — bulk registration (`users`) and the migration import of existing certificates
// (`certificates`): upload, read the validation report, confirm "register the valid lines", and follow the import's
// progress — read from the database, so a reload (or a worker restart) loses nothing.
import crypto from 'node:crypto';
import express, { type Request, type Router } from 'express';
import {
  CERTIFICATE_IMPORT_COLUMNS,
  getImport,
  MAX_IMPORT_BYTES,
  ORGANIZATIONAL_UNIT_SEPARATOR,
  submitImport,
  USER_IMPORT_COLUMNS,
  type ImportView,
  type RefusedLine,
  type ValidationReport,
} from '../../domain';
import { IMPORT_KINDS, importId as importIdOf, type ImportKind } from '../../workflows/import-definitions';
import { HttpError } from '../errors';
import { audited } from '../support/audit';
import { permits } from '../support/auth';
import { html, type SafeHtml } from '../web/html';
import { errorBox, formToken } from '../web/layout';
import { consumeFormToken, issueFormToken } from '../web/session';
import { consoleErrorMessage, consolePath, operatorOf, ROLE_JA, sendConsolePage, table, when, type ConsoleDeps } from './kit';
import { CONSOLE_SCRIPT_PATH } from './script';

const TITLE = 'CSVファイルからの一括登録';
const ENCODING_JA: Record<string, string> = { 'utf-8': 'UTF-8', 'utf-8-bom': 'UTF-8（BOM付き）', shift_jis: 'Shift_JIS' };
const importHref = (importId: string) => consolePath(`/imports/${importId}`);

const KIND_JA: Record<ImportKind, string> = { users: '利用者の一括登録', certificates: '既存の証明書の移行（前の認証局が発行した証明書）' };
const KIND_HELP: Record<ImportKind, SafeHtml> = {
  users: html`見出し行 <code>${USER_IMPORT_COLUMNS.join(',')}</code>、2行目から1行に1ユーザです。`,
  certificates: html`見出し行 <code>${CERTIFICATE_IMPORT_COLUMNS.join(',')}</code>、2行目から1行に1枚の証明書です。
certificatePem には前の認証局が発行した証明書（PEM）を「"」で囲んで入れます。前の認証局は先に登録します（<code>npm run cli -- ca trust-previous</code>）。
取り込んだ証明書は有効のまま引き継がれ、更新（TLSクライアント認証）にだけ使えます。`,
};
const isKind = (value: unknown): value is ImportKind => (IMPORT_KINDS as readonly unknown[]).includes(value);

function uploadForm(req: Request, chosen: ImportKind): SafeHtml {
  // The file is read in the browser into the form (base64) by console.js, so one urlencoded POST carries it.
  return html`<form method="post" action="${consolePath('/imports')}" id="upload">${formToken(issueFormToken(req))}
<p><label for="kind">取り込む内容：</label> <select name="kind" id="kind">${IMPORT_KINDS.map(
    (kind) => html`<option value="${kind}"${kind === chosen ? html` selected` : ''}>${KIND_JA[kind]}</option>`,
  )}</select></p>
<ul>${IMPORT_KINDS.map((kind) => html`<li>${KIND_JA[kind]}：${KIND_HELP[kind]}</li>`)}</ul>
<p>組織単位（organizationalUnits）は下位から順に「${ORGANIZATIONAL_UNIT_SEPARATOR}」で区切ります（例：<code>div1-1-1;div1-1;div1</code>）。
文字コードは UTF-8（BOM の有無を問いません）または Shift_JIS（Excel の「CSV」）、ファイルは ${MAX_IMPORT_BYTES / 1024 / 1024} MB までです。</p>
<p><label for="csvFile">CSVファイル：</label> <input type="file" id="csvFile" accept=".csv,text/csv"></p>
<input type="hidden" name="file" id="fileData"><input type="hidden" name="fileName" id="fileName">
<p class="note">まず全行を検査します。誤りのある行があれば、どの行も登録せずに検査結果を表示します。</p>
<button type="submit" id="check" disabled>検査する</button></form>
<script src="${consolePath(CONSOLE_SCRIPT_PATH)}"></script>`;
}

function refusedTable(lines: RefusedLine[]): SafeHtml {
  const rows = lines.flatMap((l) => l.errors.map((e, i) => ({ line: i === 0 ? l.line : '', label: i === 0 ? (l.label ?? '') : '', field: e.field, message: e.message })));
  return table(rows, [
    { label: '行', cell: (r) => r.line, numeric: true },
    { label: 'ユーザ', cell: (r) => r.label },
    { label: '項目', cell: (r) => r.field },
    { label: '内容', cell: (r) => r.message },
  ]);
}

function reportSummary(report: ValidationReport, fileName: string): SafeHtml {
  return html`<p id="summary">${fileName}：${report.total}行（${ENCODING_JA[report.encoding] ?? report.encoding}）、正しい行 <b id="valid">${report.valid}</b>、誤りのある行 <b id="refused">${report.refused}</b></p>`;
}

function progressBody(view: ImportView): SafeHtml {
  const p = view.progress;
  const running = p.status === 'running';
  return html`${running ? html`<meta http-equiv="refresh" content="2">` : ''}
<p id="kind">${KIND_JA[view.kind]}　インポートID：<code>${view.importId}</code>（${when(view.createdAt)}、${view.createdBy}）</p>
<p><progress id="bar" max="100" value="${p.percent}"></progress> <b id="percent">${p.percent}%</b>　${running ? '登録中です（この画面は自動で更新されます）。' : html`<span class="done" id="finished">完了しました（${when(view.finishedAt)}）。</span>`}</p>
<table class="list"><tr><th>行数</th><th>登録済み</th><th>登録失敗</th><th>残り</th><th>検査で除外</th></tr>
<tr><td class="num" id="total">${p.total}</td><td class="num" id="done">${p.done}</td><td class="num" id="failed">${p.failed}</td><td class="num" id="remaining">${p.remaining}</td><td class="num" id="refusedCount">${p.refused}</td></tr></table>
<h2>登録されなかった行</h2>
${table(view.failures, [
  { label: '行', cell: (f) => f.line, numeric: true },
  { label: 'ユーザ', cell: (f) => f.label ?? '' },
  { label: '', cell: (f) => (f.status === 'refused' ? '検査で除外' : '登録失敗') },
  { label: '内容', cell: (f) => f.errors.map((e) => (e.field ? `${e.field}：${e.message}` : e.message)).join('／') },
])}`;
}

export function mountImportPages(router: Router, deps: ConsoleDeps): void {
  const requireAdmin = (res: Parameters<typeof operatorOf>[0]) => {
    const actor = operatorOf(res);
    if (!permits(actor, 'admin')) throw new HttpError(403, 'forbidden', `「${TITLE}」には管理者の権限が必要です（${actor.agent} は${ROLE_JA[actor.role]}）。`);
    return actor;
  };

  router.get('/imports', (req, res) => {
    requireAdmin(res);
    sendConsolePage(res, 200, TITLE, uploadForm(req, isKind(req.query.kind) ? req.query.kind : 'users'));
  });

  // Its own body parser, before the console's (64 kB): the file travels base64-encoded in the form.
  router.post('/imports', express.urlencoded({ extended: false, limit: Math.ceil(MAX_IMPORT_BYTES * 1.4), parameterLimit: 10 }), async (req, res) => {
    const actor = operatorOf(res);
    try {
      consumeFormToken(req);
    } catch {
      return sendConsolePage(res, 403, TITLE, errorBox('このフォームは無効です（送信済み、または別の画面から送られたものです）。もう一度画面を開き直してください。'));
    }
    const body = req.body as Record<string, unknown>;
    const file = typeof body.file === 'string' ? Buffer.from(body.file, 'base64') : Buffer.alloc(0);
    const fileName = typeof body.fileName === 'string' && body.fileName ? body.fileName.slice(0, 200) : 'CSVファイル';
    const registerValidLines = body.registerValidLines === 'true';
    const kind = isKind(body.kind) ? body.kind : undefined;
    try {
      const submitted = await audited(deps.stores.audit, actor, {
        action: 'importFile',
        target: kind ? `import:${importIdOf(kind, crypto.createHash('sha256').update(file).digest('hex'))}` : `import:${String(body.kind)}`,
        run: async () => {
          requireAdmin(res);
          if (!kind) throw HttpError.badRequest('取り込む内容を選んでください。', 'kind');
          if (file.length === 0) throw HttpError.badRequest('CSVファイルを選択してください。', 'file');
          return submitImport(deps, actor, { kind, file, registerValidLines });
        },
        detail: (r) => ({ started: r.started, ...(r.started ? { existing: r.existing } : {}), total: r.report.total, valid: r.report.valid, refused: r.report.refused }),
      });
      if (submitted.started) return res.redirect(303, importHref(submitted.importId));
      const { report } = submitted;
      const confirm = report.valid > 0
        ? html`<h2>有効な行だけを登録する</h2>
<form method="post" action="${consolePath('/imports')}" id="registerValid">${formToken(issueFormToken(req))}
<input type="hidden" name="kind" value="${kind}"><input type="hidden" name="file" value="${file.toString('base64')}"><input type="hidden" name="fileName" value="${fileName}"><input type="hidden" name="registerValidLines" value="true">
<p>誤りのある ${report.refused} 行を除き、正しい ${report.valid} 行を登録します。誤りのある行は登録されません（修正したファイルを改めてアップロードできます）。</p>
<button type="submit">正しい ${report.valid} 行を登録する</button></form>`
        : html`<p class="note">正しい行がないため、登録できる行はありません。</p>`;
      sendConsolePage(res, 200, `${TITLE}：検査結果`, html`${errorBox('誤りのある行があるため、まだ誰も登録していません。')}
${reportSummary(report, fileName)}
<h2>誤りのある行</h2>
${refusedTable(report.refusedLines)}
${confirm}
<h2>修正したファイルをアップロードする</h2>
${uploadForm(req, kind!)}`);
    } catch (err) {
      const { status, message } = consoleErrorMessage(err);
      if (status >= 500 && status !== 503) throw err;
      sendConsolePage(res, status, TITLE, html`${errorBox(message)}${status === 403 ? '' : uploadForm(req, kind ?? 'users')}`);
    }
  });

  router.get('/imports/:importId', async (req, res) => {
    requireAdmin(res);
    const importId = String(req.params.importId);
    if (!/^[a-z]+-[0-9a-f]{64}$/.test(importId)) throw HttpError.badRequest('インポートIDが正しくありません。', 'importId');
    const view = await getImport(deps, importId);
    sendConsolePage(res, 200, `${TITLE}：進捗`, progressBody(view));
  });
}
