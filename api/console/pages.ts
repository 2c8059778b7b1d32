// The console's read-only pages: find (search and lists), the audit trail, a user's page and the certificate diagnosis.
import type { Request, Router } from 'express';
import {
  diagnoseCertificate,
  isUserProfile,
  listAuditTrail,
  listAwaitingRetrieval,
  listExpiringCertificates,
  listFailedMails,
  listCertificates,
  searchRequests,
  userTimeline,
  type Diagnosis,
  type DiagnosisRefusal,
  type ProfileTimeline,
  type SupportRow,
  type TimelineMail,
} from '../../domain';
import type { RecordedAuditEvent } from '../../stores';
import { PROFILES, REQUEST_STATUSES, rulesOf, type Profile, type RequestStatus } from '../../workflows/definitions';
import { HttpError } from '../errors';
import { userIdSchema } from '../support/schemas';
import { html, SafeHtml } from '../web/html';
import { errorBox } from '../web/layout';
import { consoleErrorMessage, consolePath, KIND_JA, link, REASON_JA, sendConsolePage, STATE_JA, table, userHref, when, type Column, type ConsoleDeps } from './kit';

const queryString = (req: Request, name: string): string => {
  const v = req.query[name];
  return typeof v === 'string' ? v.trim() : '';
};

/** N days from `?days=`, or the default; the domain refuses what is out of range. */
function daysParam(req: Request, fallback: number): number {
  const raw = queryString(req, 'days');
  if (raw === '') return fallback;
  if (!/^\d{1,4}$/.test(raw)) throw HttpError.badRequest('日数は0から3650までの整数で指定してください。', 'days');
  return Number(raw);
}

function stateParam(req: Request): RequestStatus | undefined {
  const s = queryString(req, 'state');
  if (s === '') return undefined;
  if (!(REQUEST_STATUSES as readonly string[]).includes(s)) throw HttpError.badRequest('状態の指定が正しくありません。', 'state');
  return s as RequestStatus;
}

const profileParam = (req: Request): string | undefined => queryString(req, 'profile') || undefined;

export function workflowHref(deps: ConsoleDeps, workflowId: string): string {
  return `${deps.temporalUiUrl}/namespaces/${encodeURIComponent(deps.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

function option(value: string, label: string, selected: string): SafeHtml {
  return html`<option value="${value}"${value === selected ? new SafeHtml(' selected') : ''}>${label}</option>`;
}

export function profileLabel(deps: ConsoleDeps, profile: string): string {
  return (deps.profiles as Record<string, { serviceName: string }>)[profile]?.serviceName ?? profile;
}

const profileSelect = (deps: ConsoleDeps, selected: string) =>
  html`<select name="profile" id="profile">${option('', 'プロファイル（すべて）', selected)}${PROFILES.map((p) => option(p, profileLabel(deps, p), selected))}</select>`;

function searchForm(deps: ConsoleDeps, req: Request): SafeHtml {
  const state = queryString(req, 'state');
  return html`<form method="get" action="${consolePath('/')}" class="console-search">
<p><label for="q">ユーザID・申請ID・シリアル番号・メールアドレス・組織</label></p>
<p><input type="text" id="q" name="q" value="${queryString(req, 'q')}" autofocus>
<select name="state" id="state">${option('', '状態（すべて）', state)}${REQUEST_STATUSES.map((s) => option(s, STATE_JA[s], state))}</select>
${profileSelect(deps, queryString(req, 'profile'))}
<button type="submit">検索</button></p></form>`;
}

/** The columns of every list of requests. */
export function rowColumns(deps: ConsoleDeps): Column<SupportRow>[] {
  return [
    { label: 'ユーザID', cell: (r) => link(userHref(r.userId), r.userId) },
    { label: 'サービス', cell: (r) => profileLabel(deps, r.profile) },
    { label: '申請ID', cell: (r) => r.requestId },
    { label: '種別', cell: (r) => KIND_JA[r.kind] },
    { label: '状態', cell: (r) => STATE_JA[r.status] },
    { label: 'シリアル番号', cell: (r) => r.serial ?? '' },
    { label: '有効期限', cell: (r) => when(r.notAfter) },
    { label: '申請日時', cell: (r) => when(r.createdAt) },
    { label: 'メールアドレス', cell: (r) => r.email },
    { label: '組織', cell: (r) => r.organization },
  ];
}

const OUTCOME_JA = { ok: '成功', rejected: '拒否', failed: '失敗' } as const;

export function auditTable(events: RecordedAuditEvent[]): SafeHtml {
  return table(events, [
    { label: '日時', cell: (e) => when(e.at) },
    { label: '運用者', cell: (e) => `${e.agent}（${e.role}）` },
    { label: '操作', cell: (e) => e.action },
    { label: '対象', cell: (e) => e.target },
    { label: '結果', cell: (e) => OUTCOME_JA[e.outcome] },
    { label: '詳細', cell: (e) => (e.detail ? JSON.stringify(e.detail) : '') },
  ]);
}

const MAIL_STATUS_JA = { pending: '送信待ち', sent: '送信済み', failed: '送信失敗' } as const;

const resendHref = (key: string) => consolePath(`/mails/resend?key=${encodeURIComponent(key)}`);

function mailList(mails: TimelineMail[]): SafeHtml {
  if (mails.length === 0) return html``;
  return html`<ul class="mails">${mails.map(
    (m) => html`<li>${m.event}（${m.kind}）→ ${m.recipient}：<span class="mail-${m.status}">${MAIL_STATUS_JA[m.status]}</span> ${when(m.sentAt ?? m.createdAt)}${
      m.status === 'failed' ? html` ${m.lastError ?? ''} ${link(resendHref(m.key), '再送')}` : ''
    }</li>`,
  )}</ul>`;
}

function timelineSection(deps: ConsoleDeps, t: ProfileTimeline): SafeHtml {
  const { user } = t;
  const current = t.requests.find((r) => r.requestId === t.currentRequestId) ?? t.requests[t.requests.length - 1];
  const base = consolePath(`/users/${encodeURIComponent(user.userId)}/${user.profile}`);
  // An operator's certificate is managed through the operator commands, never from a user's page.
  const actions = isUserProfile(user.profile)
    ? html`<p class="actions">${link(`${base}/reissue`, '再発行')}${link(`${base}/revoke`, '失効（管理者）')}${link(`${base}/new-request`, '新規申請')}${link(
        consolePath(`/users/${encodeURIComponent(user.userId)}/unlock`),
        'ロック解除',
      )}${current && rulesOf(current.status).awaitingDownload ? link(consolePath(`/requests/${current.requestId}/password-reset`), 'パスワード再発行') : ''}</p>`
    : html`<p class="note">運用者の証明書です（操作は npm run cli -- operator …）。</p>`;
  return html`<section class="profile" data-profile="${user.profile}"><h2>${profileLabel(deps, user.profile)}（${user.profile}）</h2>
<table class="form">
<tr><th>ユーザID</th><td>${user.userId}</td></tr>
<tr><th>メールアドレス</th><td>${user.email}</td></tr>
<tr><th>ID管理者メールアドレス</th><td>${user.idAdminEmail}</td></tr>
<tr><th>組織</th><td>${user.organization} / ${user.organizationalUnits.join(' / ')}</td></tr>
<tr><th>ログイン失敗回数</th><td>${user.failedLogins}${user.lockedUntil ? `（${when(user.lockedUntil)} までロック）` : ''}</td></tr>
<tr><th>現在の申請</th><td>${current ? `${current.requestId}（${STATE_JA[current.status]}）` : 'なし'}</td></tr>
<tr><th>ポータルの判定</th><td class="portal-verdict">${
    t.portal.admitted
      ? html`<span class="verdict-ok">いま接続できます</span>（シリアル番号 ${t.portal.serial}）`
      : html`<span class="verdict-no">いま接続できません</span>：${t.portal.reason}`
  }</td></tr>
</table>
${actions}
<h3>申請の履歴</h3>
${table(t.requests, [
  { label: '申請ID', cell: (r) => r.requestId },
  { label: '種別', cell: (r) => KIND_JA[r.kind] },
  { label: '状態', cell: (r) => html`${STATE_JA[r.status]}${r.revocationReason ? html`<br>${REASON_JA[r.revocationReason]} ${when(r.revokedAt)}` : ''}` },
  { label: '申請日時', cell: (r) => when(r.createdAt) },
  { label: '有効期間', cell: (r) => (r.notBefore ? `${when(r.notBefore)} ～ ${when(r.notAfter)}` : '') },
  { label: 'シリアル番号', cell: (r) => r.serial ?? '' },
  { label: 'メール', cell: (r) => mailList(r.mails) },
  { label: 'ワークフロー', cell: (r) => html`<a href="${workflowHref(deps, r.workflowId)}" target="_blank" rel="noopener">Temporal Web UI</a>` },
])}
<h3>操作の記録</h3>
${auditTable(t.audit)}</section>`;
}

const DIAGNOSIS_JA: Record<DiagnosisRefusal, string> = {
  notIssuedByCertflow: 'certflow が発行した証明書ではありません',
  expired: '有効期限が切れています',
  notYetValid: 'まだ有効期間が始まっていません',
  revoked: '失効しています',
  superseded: '再発行により置き換えられ、失効しています',
};

function diagnosisBody(deps: ConsoleDeps, d: Diagnosis): SafeHtml {
  const v = d.verdict;
  const owner = d.owner;
  return html`<table class="form diagnosis">
<tr><th>ポータルの判定</th><td class="portal-verdict">${
    v.admitted ? html`<span class="verdict-ok">接続できます</span>` : html`<span class="verdict-no">接続できません：${DIAGNOSIS_JA[v.refusal]}</span>`
  }<br><span class="reason">${v.reason}</span></td></tr>
${!v.admitted && v.revocationReason ? html`<tr><th>失効理由・日時</th><td>${REASON_JA[v.revocationReason]} ${when(v.revokedAt)}</td></tr>` : ''}
<tr><th>サブジェクト</th><td>${d.subject}</td></tr>
<tr><th>発行者</th><td>${d.issuer}</td></tr>
<tr><th>シリアル番号</th><td>${d.serial}</td></tr>
<tr><th>有効期間</th><td>${when(d.notBefore)} ～ ${when(d.notAfter)}</td></tr>
<tr><th>発行したCA</th><td>${d.issuedBy === 'notIssuedByCertflow' ? 'certflow 以外' : profileLabel(deps, d.issuedBy.profile)}</td></tr>
${
  owner
    ? html`<tr><th>ユーザ</th><td>${link(userHref(owner.userId), owner.userId)}（${profileLabel(deps, owner.profile)}）</td></tr>
<tr><th>申請</th><td>${owner.requestId}${owner.kind ? `（${KIND_JA[owner.kind]}）` : ''}${owner.status ? ` ${STATE_JA[owner.status]}` : ''}${
        owner.workflowId ? html` <a href="${workflowHref(deps, owner.workflowId)}" target="_blank" rel="noopener">Temporal Web UI</a>` : ''
      }</td></tr>`
    : ''
}
</table>`;
}

function diagnoseForm(): SafeHtml {
  // The upload is read in the browser into the same form (DER as base64), so one urlencoded POST carries either.
  return html`<form method="post" action="${consolePath('/diagnose')}" id="diagnose">
<p><label for="certificate">証明書（PEM）を貼り付けてください</label></p>
<p><textarea id="certificate" name="certificate" placeholder="-----BEGIN CERTIFICATE-----"></textarea></p>
<p><label for="file">または証明書ファイル（.cer / .crt / .pem、DER または PEM）を選択：</label> <input type="file" id="file" accept=".cer,.crt,.pem,.der"></p>
<input type="hidden" name="der" id="der">
<button type="submit">診断</button></form>
<script>
document.getElementById('file').addEventListener('change', function (e) {
  var f = e.target.files[0]; if (!f) return;
  f.arrayBuffer().then(function (buf) {
    var bytes = new Uint8Array(buf), text = '';
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    if (text.indexOf('-----BEGIN') >= 0) { document.getElementById('certificate').value = text; document.getElementById('der').value = ''; }
    else { document.getElementById('der').value = btoa(text); document.getElementById('certificate').value = ''; }
  });
});
</script>`;
}

export function mountConsolePages(router: Router, deps: ConsoleDeps): void {
  router.get('/', async (req, res) => {
    const q = queryString(req, 'q');
    const searched = 'q' in req.query || 'state' in req.query || 'profile' in req.query;
    const filters = { status: stateParam(req), profile: profileParam(req) };
    let results: SupportRow[] | undefined;
    if (searched && q !== '') results = await searchRequests(deps, { text: q, ...filters, limit: 200 });
    else if (searched) {
      // No text: the filters alone, over the projection's list.
      const rows = await listCertificates(deps, { status: filters.status, profile: filters.profile as Profile | undefined, limit: 200 });
      const users = new Map<string, { email: string; organization: string }>();
      for (const r of rows) if (!users.has(`${r.userId}/${r.profile}`)) users.set(`${r.userId}/${r.profile}`, (await deps.stores.users.find(r.userId, r.profile)) ?? { email: '', organization: '' });
      results = rows.map((r) => ({ ...r, ...users.get(`${r.userId}/${r.profile}`)!, userId: r.userId, profile: r.profile }));
    }
    sendConsolePage(res, 200, 'ユーザ・申請の検索', html`${searchForm(deps, req)}
${results ? html`<h2>検索結果（${results.length}件）</h2>${table(results, rowColumns(deps))}` : ''}`);
  });

  router.get('/lists/expiring', async (req, res) => {
    const days = daysParam(req, 30);
    const rows = await listExpiringCertificates(deps, { days, profile: profileParam(req), limit: 500 });
    sendConsolePage(res, 200, '有効期限の近い証明書', html`<form method="get" class="console-search">今日から <input type="text" name="days" value="${days}" style="width:60px"> 日以内に有効期限を迎える証明書 ${profileSelect(deps, queryString(req, 'profile'))} <button type="submit">表示</button></form>
${table(rows, rowColumns(deps))}`);
  });

  router.get('/lists/awaiting', async (req, res) => {
    const days = daysParam(req, 7);
    const rows = await listAwaitingRetrieval(deps, { days, profile: profileParam(req), limit: 500 });
    sendConsolePage(res, 200, '鍵の取得待ちの申請', html`<form method="get" class="console-search"><input type="text" name="days" value="${days}" style="width:60px"> 日より前から鍵の取得を待っている申請 ${profileSelect(deps, queryString(req, 'profile'))} <button type="submit">表示</button></form>
${table(rows, rowColumns(deps))}`);
  });

  router.get('/lists/failed-mails', async (_req, res) => {
    const mails = await listFailedMails(deps, 500);
    sendConsolePage(res, 200, '送信に失敗したメール', table(mails, [
      { label: '日時', cell: (m) => when(m.updatedAt) },
      { label: '宛先', cell: (m) => m.recipient },
      { label: '件名', cell: (m) => m.subject },
      { label: '理由', cell: (m) => m.lastError ?? m.smtpResponse ?? '' },
      { label: '', cell: (m) => link(resendHref(m.key), '再送') },
    ]));
  });

  router.get('/audit', async (req, res) => {
    const agent = queryString(req, 'agent');
    const action = queryString(req, 'action');
    const target = queryString(req, 'target');
    const from = queryString(req, 'from');
    const to = queryString(req, 'to');
    // Dates are Japan's days: from its first instant to the end of the `to` day.
    const day = (v: string, field: string, plusDays = 0) => {
      if (v === '') return undefined;
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00+09:00`))) throw HttpError.badRequest('日付は yyyy-mm-dd で指定してください。', field);
      return new Date(Date.parse(`${v}T00:00:00+09:00`) + plusDays * 86_400_000);
    };
    const events = await listAuditTrail(deps, { agent, action, target, targetPrefix: true, from: day(from, 'from'), to: day(to, 'to', 1), limit: 500 });
    sendConsolePage(res, 200, '監査ログ', html`<form method="get" class="console-search"><table class="form">
<tr><th><label for="agent">運用者</label></th><td><input type="text" id="agent" name="agent" value="${agent}"></td><th><label for="action">操作</label></th><td><input type="text" id="action" name="action" value="${action}" placeholder="reissue"></td></tr>
<tr><th><label for="target">対象</label></th><td><input type="text" id="target" name="target" value="${target}" placeholder="user:emp002"></td><th>期間</th><td><input type="date" name="from" value="${from}"> ～ <input type="date" name="to" value="${to}"></td></tr>
</table><button type="submit">絞り込み</button></form>
${auditTable(events)}`);
  });

  router.get('/users/:userId', async (req, res) => {
    const userId = parseUserId(req.params.userId);
    const timelines = await userTimeline(deps, userId);
    sendConsolePage(res, 200, `ユーザ ${userId}`, html`${timelines.map((t) => timelineSection(deps, t))}`);
  });

  router.get('/diagnose', (_req, res) => sendConsolePage(res, 200, '証明書の診断', diagnoseForm()));

  router.post('/diagnose', async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const der = typeof body.der === 'string' && body.der.trim() !== '' ? Buffer.from(body.der.trim(), 'base64') : undefined;
    const pem = typeof body.certificate === 'string' ? body.certificate : '';
    try {
      const diagnosis = await diagnoseCertificate(deps, der ?? pem);
      sendConsolePage(res, 200, '証明書の診断', html`${diagnosisBody(deps, diagnosis)}<h2>別の証明書を診断する</h2>${diagnoseForm()}`);
    } catch (err) {
      const { status, message } = consoleErrorMessage(err);
      if (status >= 500) throw err;
      sendConsolePage(res, status, '証明書の診断', html`${errorBox(message)}${diagnoseForm()}`);
    }
  });
}

export function parseUserId(value: unknown): string {
  const parsed = userIdSchema.safeParse(value);
  if (!parsed.success) throw HttpError.badRequest('ユーザIDが正しくありません。', 'userId');
  return parsed.data;
}
