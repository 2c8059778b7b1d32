// The console's read-only pages: find (search and lists), the audit trail, and a user's page.
import type { Request, Router } from 'express';
import {
  currentRequest,
  getRequest,
  getUser,
  listCertificates,
  listFailedMails,
  Refusal,
  type RequestView,
  type UserView,
} from '../../domain';
import type { RecordedAuditEvent } from '../../stores';
import { PROFILES, REQUEST_STATUSES, rulesOf, type RequestStatus } from '../../workflows/definitions';
import { HttpError } from '../errors';
import { requestIdSchema, userIdSchema } from '../support/schemas';
import { html, SafeHtml } from '../web/html';
import { consolePath, KIND_JA, link, REASON_JA, sendConsolePage, STATE_JA, table, userHref, when, type Column, type ConsoleDeps } from './kit';

const DAY = 86_400_000;

const queryString = (req: Request, name: string): string => {
  const v = req.query[name];
  return typeof v === 'string' ? v.trim() : '';
};

/** N days from `?days=`, 1 to 3650, or the default. */
function daysParam(req: Request, fallback: number): number {
  const raw = queryString(req, 'days');
  if (raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 3650) throw HttpError.badRequest('日数は1から3650までの整数で指定してください。', 'days');
  return n;
}

function stateParam(req: Request): RequestStatus | undefined {
  const s = queryString(req, 'state');
  if (s === '') return undefined;
  if (!(REQUEST_STATUSES as readonly string[]).includes(s)) throw HttpError.badRequest('状態の指定が正しくありません。', 'state');
  return s as RequestStatus;
}

function profileParam(deps: ConsoleDeps, req: Request) {
  const p = queryString(req, 'profile');
  if (p === '') return undefined;
  if (!(PROFILES as readonly string[]).includes(p)) throw HttpError.badRequest('プロファイルの指定が正しくありません。', 'profile');
  return p as (typeof PROFILES)[number];
}

export function workflowHref(deps: ConsoleDeps, workflowId: string): string {
  return `${deps.temporalUiUrl}/namespaces/${encodeURIComponent(deps.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

function option(value: string, label: string, selected: string): SafeHtml {
  return html`<option value="${value}"${value === selected ? new SafeHtml(' selected') : ''}>${label}</option>`;
}

export function profileLabel(deps: ConsoleDeps, profile: string): string {
  return (deps.profiles as Record<string, { serviceName: string }>)[profile]?.serviceName ?? profile;
}

function searchForm(deps: ConsoleDeps, req: Request): SafeHtml {
  const q = queryString(req, 'q');
  const state = queryString(req, 'state');
  const profile = queryString(req, 'profile');
  return html`<form method="get" action="${consolePath('/')}" class="console-search">
<table class="form"><tr><th><label for="q">ユーザID・申請ID・シリアル番号・メールアドレス・組織</label></th></tr>
<tr><td><input type="text" id="q" name="q" value="${q}" autofocus>
<select name="state" id="state">${option('', '状態（すべて）', state)}${REQUEST_STATUSES.map((s) => option(s, STATE_JA[s], state))}</select>
<select name="profile" id="profile">${option('', 'プロファイル（すべて）', profile)}${PROFILES.map((p) => option(p, profileLabel(deps, p), profile))}</select>
<button type="submit">検索</button></td></tr></table></form>`;
}

/** The columns every list of requests shares. */
export function requestColumns(deps: ConsoleDeps): Column<RequestView>[] {
  return [
    { label: 'ユーザID', cell: (r) => link(userHref(r.userId), r.userId) },
    { label: 'プロファイル', cell: (r) => profileLabel(deps, r.profile) },
    { label: '申請ID', cell: (r) => r.requestId },
    { label: '種別', cell: (r) => KIND_JA[r.kind] },
    { label: '状態', cell: (r) => STATE_JA[r.status] },
    { label: 'シリアル番号', cell: (r) => r.serial ?? '' },
    { label: '有効期限', cell: (r) => when(r.notAfter) },
    { label: '申請日時', cell: (r) => when(r.createdAt) },
  ];
}

/** Search with what the domain offers: a request ID, a user ID, or the filters alone. */
async function find(deps: ConsoleDeps, q: string, state: RequestStatus | undefined, profile: (typeof PROFILES)[number] | undefined): Promise<RequestView[]> {
  const matches = (r: RequestView) => (!state || r.status === state) && (!profile || r.profile === profile);
  if (q === '') return listCertificates(deps, { status: state, profile, limit: 200 });
  if (requestIdSchema.safeParse(q).success) {
    try {
      return [await getRequest(deps, q)].filter(matches);
    } catch (err) {
      if (err instanceof Refusal && err.code === 'notFound') return [];
      throw err;
    }
  }
  if (!userIdSchema.safeParse(q).success) return [];
  try {
    return (await getUser(deps, q)).flatMap((u) => u.requests).filter(matches);
  } catch (err) {
    if (err instanceof Refusal && err.code === 'notFound') return [];
    throw err;
  }
}

function auditTable(events: RecordedAuditEvent[]): SafeHtml {
  return table(events, [
    { label: '日時', cell: (e) => when(e.at) },
    { label: '運用者', cell: (e) => `${e.agent}（${e.role}）` },
    { label: '操作', cell: (e) => e.action },
    { label: '対象', cell: (e) => e.target },
    { label: '結果', cell: (e) => ({ ok: '成功', rejected: '拒否', failed: '失敗' })[e.outcome] },
    { label: '詳細', cell: (e) => (e.detail ? JSON.stringify(e.detail) : '') },
  ]);
}

/** Would the relying portal admit the holder of this request's certificate now, and if not why (the workflow's reason). */
export function portalVerdict(request: RequestView & { live?: { refusalReason?: string } }, now: Date): { admits: boolean; reason?: string } {
  if (request.live) return request.live.refusalReason ? { admits: false, reason: request.live.refusalReason } : { admits: true };
  const refusal = rulesOf(request.status).portalRefusal;
  if (refusal) return { admits: false, reason: refusal };
  if (request.notAfter && new Date(request.notAfter).getTime() <= now.getTime()) return { admits: false, reason: 'the certificate has expired' };
  return { admits: true };
}

async function userSection(deps: ConsoleDeps, user: UserView, audit: RecordedAuditEvent[]): Promise<SafeHtml> {
  const current = await currentRequest(deps.stores, user);
  const live = await getRequest(deps, current.requestId);
  const verdict = portalVerdict(live, await deps.clock());
  const chain = [...user.requests].sort((a, b) => new Date(a.createdAt).getTime() - new Date(b.createdAt).getTime());
  const base = consolePath(`/users/${encodeURIComponent(user.userId)}/${user.profile}`);
  const requestIds = new Set(chain.map((r) => `request:${r.requestId}`));
  return html`<h2>${profileLabel(deps, user.profile)}（${user.profile}）</h2>
<table class="form">
<tr><th>ユーザID</th><td>${user.userId}</td></tr>
<tr><th>メールアドレス</th><td>${user.email}</td></tr>
<tr><th>ID管理者メールアドレス</th><td>${user.idAdminEmail}</td></tr>
<tr><th>組織</th><td>${user.organization} / ${user.organizationalUnits.join(' / ')}</td></tr>
<tr><th>ログイン失敗回数</th><td>${user.failedLogins}${user.lockedUntil ? `（${when(user.lockedUntil)} までロック中）` : ''}</td></tr>
<tr><th>現在の申請</th><td>${current.requestId}（${STATE_JA[current.status]}）</td></tr>
<tr><th>ポータルの判定</th><td class="portal-verdict">${
    verdict.admits
      ? html`<span class="verdict-ok">いま接続できます</span>`
      : html`<span class="verdict-no">いま接続できません</span>：${verdict.reason}`
  }</td></tr>
</table>
<p class="actions">${link(`${base}/reissue`, '再発行')}${link(`${base}/revoke`, '失効（管理者）')}${link(`${base}/new-request`, '新規申請')}${link(
    consolePath(`/users/${encodeURIComponent(user.userId)}/unlock`),
    'ロック解除',
  )}${rulesOf(current.status).awaitingDownload ? link(consolePath(`/requests/${current.requestId}/password-reset`), 'パスワード再発行') : ''}</p>
<h3>申請の履歴</h3>
${table(chain, [
  { label: '申請ID', cell: (r) => r.requestId },
  { label: '種別', cell: (r) => KIND_JA[r.kind] },
  { label: '状態', cell: (r) => html`${STATE_JA[r.status]}${r.revocationReason ? `（${REASON_JA[r.revocationReason]}）` : ''}` },
  { label: '申請日時', cell: (r) => when(r.createdAt) },
  { label: '有効期間', cell: (r) => (r.notBefore ? `${when(r.notBefore)} ～ ${when(r.notAfter)}` : '') },
  { label: 'シリアル番号', cell: (r) => r.serial ?? '' },
  { label: '前の申請', cell: (r) => r.predecessorRequestId ?? '' },
  { label: 'ワークフロー', cell: (r) => html`<a href="${workflowHref(deps, r.workflowId)}" target="_blank" rel="noopener">Temporal</a>` },
])}
<h3>操作の記録</h3>
${auditTable(audit.filter((e) => requestIds.has(e.target)))}`;
}

export function mountConsolePages(router: Router, deps: ConsoleDeps): void {
  router.get('/', async (req, res) => {
    const q = queryString(req, 'q');
    const searched = 'q' in req.query || 'state' in req.query || 'profile' in req.query;
    const results = searched ? await find(deps, q, stateParam(req), profileParam(deps, req)) : undefined;
    sendConsolePage(
      res,
      200,
      'ユーザ・申請の検索',
      html`${searchForm(deps, req)}
${results ? html`<h2>検索結果（${results.length}件）</h2>${table(results, requestColumns(deps))}` : ''}`,
    );
  });

  router.get('/lists/expiring', async (req, res) => {
    const days = daysParam(req, 30);
    const profile = profileParam(deps, req);
    const before = new Date((await deps.clock()).getTime() + days * DAY);
    const rows = await listCertificates(deps, { status: 'active', profile, expiringBefore: before, limit: 1000 });
    sendConsolePage(res, 200, '有効期限の近い証明書', html`<form method="get" class="console-search">今日から <input type="text" name="days" value="${days}" size="4" style="width:60px"> 日以内に期限を迎える有効な証明書 <button type="submit">表示</button></form>
${table(rows, requestColumns(deps))}`);
  });

  router.get('/lists/awaiting', async (req, res) => {
    const days = daysParam(req, 7);
    const since = (await deps.clock()).getTime() - days * DAY;
    const rows = (await listCertificates(deps, { status: 'awaitingKeyRetrieval', profile: profileParam(deps, req), limit: 1000 })).filter(
      (r) => new Date(r.createdAt).getTime() <= since,
    );
    sendConsolePage(res, 200, '鍵の取得待ちの申請', html`<form method="get" class="console-search"><input type="text" name="days" value="${days}" size="4" style="width:60px"> 日以上、鍵の取得を待っている申請 <button type="submit">表示</button></form>
${table(rows, requestColumns(deps))}`);
  });

  router.get('/lists/failed-mails', async (_req, res) => {
    const mails = await listFailedMails(deps, 500);
    sendConsolePage(res, 200, '送信に失敗したメール', table(mails, [
      { label: '日時', cell: (m) => when(m.updatedAt) },
      { label: '宛先', cell: (m) => m.recipient },
      { label: '件名', cell: (m) => m.subject },
      { label: '理由', cell: (m) => m.lastError ?? m.smtpResponse ?? '' },
    ]));
  });

  router.get('/audit', async (req, res) => {
    const agent = queryString(req, 'agent');
    const action = queryString(req, 'action');
    const target = queryString(req, 'target');
    const from = queryString(req, 'from');
    const to = queryString(req, 'to');
    const day = (v: string, field: string) => {
      if (v === '') return undefined;
      const t = Date.parse(`${v}T00:00:00+09:00`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(t)) throw HttpError.badRequest('日付は yyyy-mm-dd で指定してください。', field);
      return t;
    };
    const fromMs = day(from, 'from');
    const toMs = day(to, 'to');
    const events = (await deps.stores.audit.list({ target: target || undefined, action: action || undefined, limit: 5000 }))
      .filter((e) => (!agent || e.agent === agent) && (fromMs === undefined || e.at.getTime() >= fromMs) && (toMs === undefined || e.at.getTime() < toMs + DAY))
      .reverse();
    sendConsolePage(res, 200, '監査ログ', html`<form method="get" class="console-search"><table class="form">
<tr><th>運用者</th><td><input type="text" name="agent" value="${agent}"></td><th>操作</th><td><input type="text" name="action" value="${action}"></td></tr>
<tr><th>対象</th><td><input type="text" name="target" value="${target}" placeholder="user:emp002"></td><th>期間</th><td><input type="date" name="from" value="${from}"> ～ <input type="date" name="to" value="${to}"></td></tr>
</table><button type="submit">絞り込み</button></form>
${auditTable(events.slice(0, 500))}`);
  });

  router.get('/users/:userId', async (req, res) => {
    const userId = parseUserId(req.params.userId);
    const held = await getUser(deps, userId);
    const audit = await deps.stores.audit.list({ limit: 5000 });
    const mine = audit.filter((e) => e.target === `user:${userId}` || e.target.startsWith('request:'));
    const sections = await Promise.all(held.map((u) => userSection(deps, u, mine)));
    sendConsolePage(res, 200, `ユーザ ${userId}`, html`${sections}
<h3>このユーザへの操作</h3>
${auditTable(mine.filter((e) => e.target === `user:${userId}`))}`);
  });
}

export function parseUserId(value: unknown): string {
  const parsed = userIdSchema.safeParse(value);
  if (!parsed.success) throw HttpError.badRequest('ユーザIDが正しくありません。', 'userId');
  return parsed.data;
}

