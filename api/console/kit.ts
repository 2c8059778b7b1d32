// The console's page kit, for every console page (other engineers' too): the frame, tables, Japanese labels, and
// `mountAction` — one state-changing action behind a confirmation page, a one-time form token and an audit row.
import type { Request, Response, Router } from 'express';
import { Refusal, type Actor, type DomainDeps } from '../../domain';
import type { RequestStatus, RequestKind, RevocationReason } from '../../workflows/definitions';
import { HttpError, toHttpError } from '../errors';
import { audited } from '../support/audit';
import { permits } from '../support/auth';
import { formatTokyo, html, SafeHtml } from '../web/html';
import { errorBox, formToken, page, type MenuEntry } from '../web/layout';
import { consumeFormToken, issueFormToken } from '../web/session';
import type { WebDeps } from '../web/page-kit';

export interface ConsoleSettings {
  /** Base URL of the Temporal Web UI (config.temporal.uiUrl). */
  temporalUiUrl: string;
  temporalNamespace: string;
}

/** What every console page is given: the user's pages' dependencies (domain, sessions) and the console's settings. */
export type ConsoleDeps = WebDeps & ConsoleSettings;

export const CONSOLE_BASE = '/console';
export const consolePath = (p = '') => `${CONSOLE_BASE}${p}`;

export const ROLE_JA: Record<Actor['role'], string> = { support: 'サポート', admin: '管理者' };

export const STATE_JA: Record<RequestStatus, string> = {
  reserved: '受付中',
  awaitingKeyRetrieval: '鍵の取得待ち',
  keyReady: '発行済み（未ダウンロード）',
  active: '有効',
  renewed: '更新済み',
  requestExpired: '申請期限切れ',
  revoked: '失効',
  expired: '有効期限切れ',
};

export const KIND_JA: Record<RequestKind, string> = { new: '新規', renewal: '更新', reissue: '再発行', imported: '移行' };

export const REASON_JA: Record<RevocationReason, string> = {
  unspecified: '理由なし (unspecified)',
  keyCompromise: '鍵の危殆化 (keyCompromise)',
  cACompromise: 'CAの危殆化 (cACompromise)',
  affiliationChanged: '所属の変更 (affiliationChanged)',
  superseded: '置き換え (superseded)',
  cessationOfOperation: '業務終了 (cessationOfOperation)',
  certificateHold: '一時停止 (certificateHold)',
  privilegeWithdrawn: '権限の取り消し (privilegeWithdrawn)',
  aACompromise: 'AAの危殆化 (aACompromise)',
};

/** The operator the request was authenticated as (console/auth.ts). */
export const operatorOf = (res: Response): Actor => res.locals.operator as Actor;

const STYLE = `
main{max-width:1100px}
table.list td.num{text-align:right}
.console-search input[type=text]{width:320px}
.console-search select{padding:3px}
.password{font-size:34px;font-family:"Consolas","DejaVu Sans Mono",monospace;letter-spacing:.12em;border:2px solid #00467f;padding:10px 18px;display:inline-block;background:#f7fbff;user-select:all}
.verdict-ok{color:#0a6b2d;font-weight:bold}
.verdict-no{color:#b00020;font-weight:bold}
.actions a{margin-right:14px}
.done{border:1px solid #0a6b2d;background:#f0fbf3;padding:8px 12px;margin:10px 0}
textarea{width:640px;height:180px;font-family:monospace}
`;

export const CONSOLE_MENU: MenuEntry[] = [
  { label: '検索', heading: true },
  { label: 'ユーザ・申請の検索', href: consolePath('/') },
  { label: '一覧', heading: true },
  { label: '有効期限の近い証明書', href: consolePath('/lists/expiring') },
  { label: '鍵の取得待ちの申請', href: consolePath('/lists/awaiting') },
  { label: '送信に失敗したメール', href: consolePath('/lists/failed-mails') },
  { label: '監査ログ', href: consolePath('/audit') },
  { label: '診断', heading: true },
  { label: '証明書の診断', href: consolePath('/diagnose') },
  { label: '一括登録', heading: true },
  { label: 'CSVファイルから登録', href: consolePath('/imports') },
];

/** A console page: the enrollment pages' frame with the console's menu and the operator in the title bar. */
export function consolePage(res: Response, options: { title: string; body: SafeHtml }): string {
  const operator = res.locals.operator as Actor | undefined;
  return page({
    title: options.title,
    menu: operator ? CONSOLE_MENU : undefined,
    topLinks: operator ? [{ label: `運用コンソール ― ${operator.agent}（${ROLE_JA[operator.role]}）`, href: consolePath('/') }] : [],
    body: options.body,
    style: STYLE,
  });
}

export function sendConsolePage(res: Response, status: number, title: string, body: SafeHtml): void {
  res.status(status).type('html').send(consolePage(res, { title, body }));
}

export interface Column<T> {
  label: string;
  cell: (row: T) => unknown;
  numeric?: boolean;
}

/** A list table; `empty` is shown instead when there are no rows. */
export function table<T>(rows: readonly T[], columns: Column<T>[], empty = '該当するものはありません。'): SafeHtml {
  if (rows.length === 0) return html`<p class="note">${empty}</p>`;
  return html`<table class="list"><tr>${columns.map((c) => html`<th>${c.label}</th>`)}</tr>
${rows.map((r) => html`<tr>${columns.map((c) => html`<td${c.numeric ? new SafeHtml(' class="num"') : ''}>${c.cell(r)}</td>`)}</tr>\n`)}</table>`;
}

export const when = (at: Date | string | undefined) => (at ? formatTokyo(at) : '');
export const link = (href: string, label: unknown) => html`<a href="${href}">${label}</a>`;
export const userHref = (userId: string) => consolePath(`/users/${encodeURIComponent(userId)}`);

/** What a console page says about any error: a refusal's own reason (the workflow's, in its words) under a Japanese heading. */
const REFUSAL_JA: Partial<Record<string, string>> = {
  invalid: '入力に誤りがあります。',
  forbidden: 'この操作は許可されていません。',
  notFound: '見つかりません。',
  duplicate: '既に登録されています。',
  conflict: '現在の状態ではこの操作はできません。',
  unavailable: 'ただいま処理できません。しばらくしてからもう一度お試しください。',
};

export function consoleErrorMessage(err: unknown): { status: number; message: string } {
  const answer = toHttpError(err);
  if (answer.status >= 500 && answer.status !== 503) return { status: answer.status, message: '内部エラーが発生しました。記録済みです。' };
  const code = err instanceof Refusal ? err.code : answer.code;
  const heading = REFUSAL_JA[code] ?? (err instanceof Refusal ? '現在の状態ではこの操作はできません。' : '操作できません。');
  return { status: answer.status, message: `${heading}（${answer.message}）` };
}

export interface ConsoleAction<P, R> {
  /** The audit trail's action name, e.g. `reissue`. */
  name: string;
  /** The page title, e.g. 証明書の再発行. */
  title: string;
  role: Actor['role'];
  /** From the path (and, on the POST, the confirmed form); throws HttpError 400 on bad input. */
  params: (req: Request) => P;
  /** The audit row's target, e.g. `user:emp002`. */
  target: (params: P) => string;
  /** What the confirmation page says will happen. */
  confirm: (params: P, deps: DomainDeps) => Promise<SafeHtml> | SafeHtml;
  /** Fields the operator fills in on the confirmation page (e.g. the revocation reason). */
  fields?: (params: P) => SafeHtml;
  run: (params: P, actor: Actor) => Promise<R>;
  /** What of the result the audit row keeps: IDs and reasons, never a password. */
  detail: (result: R) => Record<string, unknown>;
  /** The page after it succeeded. */
  done: (result: R, params: P) => SafeHtml;
}

/**
 * GET `path`: the confirmation page (a form with a fresh one-time token); POST `path`: the token spent, the role
 * checked, the action run and audited with the operator as actor, and its result or refusal shown. A forged or
 * replayed form, or a role that may not, changes nothing.
 */
export function mountAction<P, R>(router: Router, path: string, deps: DomainDeps, action: ConsoleAction<P, R>): void {
  const roleRefusal = (actor: Actor) =>
    permits(actor, action.role) ? undefined : new HttpError(403, 'forbidden', `「${action.title}」には${ROLE_JA[action.role]}の権限が必要です（${actor.agent} は${ROLE_JA[actor.role]}）。`);

  router.get(path, async (req, res) => {
    const actor = operatorOf(res);
    const refused = roleRefusal(actor);
    if (refused) return sendConsolePage(res, 403, action.title, errorBox(refused.message));
    const params = action.params(req);
    const body = html`${await action.confirm(params, deps)}
<form method="post" action="${req.originalUrl}">${formToken(issueFormToken(req))}
${action.fields?.(params) ?? ''}
<p class="note">よろしければ「実行」を押してください。</p>
<button type="submit">実行</button></form>`;
    sendConsolePage(res, 200, `${action.title}の確認`, body);
  });

  router.post(path, async (req, res) => {
    const actor = operatorOf(res);
    try {
      // Spent before anything else: a replay fails here even when the action is refused further on.
      consumeFormToken(req);
    } catch {
      return sendConsolePage(res, 403, action.title, errorBox('このフォームは無効です（送信済み、または別の画面から送られたものです）。もう一度画面を開き直してください。'));
    }
    try {
      const result = await audited(deps.stores.audit, actor, {
        action: action.name,
        target: targetOf(req, action),
        run: async () => {
          const refused = roleRefusal(actor);
          if (refused) throw refused;
          return action.run(action.params(req), actor);
        },
        detail: action.detail,
      });
      sendConsolePage(res, 200, action.title, action.done(result, action.params(req)));
    } catch (err) {
      const { status, message } = consoleErrorMessage(err);
      if (status >= 500 && status !== 503) throw err;
      sendConsolePage(res, status, action.title, errorBox(message));
    }
  });
}

/** The audit target even when the parameters are bad (the row then records the 400). */
function targetOf<P>(req: Request, action: Pick<ConsoleAction<P, never>, 'name' | 'params' | 'target'>): string {
  try {
    return action.target(action.params(req));
  } catch {
    return `${action.name}:${Object.values(req.params).join('/')}`.slice(0, 128);
  }
}
