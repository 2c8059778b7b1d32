// The console's actions on a user, each through mountAction (confirmation page, one-time token, role, audit row):
// reissue, revoke (admin), new request, unlock, enrollment password reset, resend of a failed mail.
import type { Request, Router } from 'express';
import { reissue, resendFailedMail, resetEnrollmentPassword, revoke, startNewRequest, unlockUser } from '../../domain';
import { REVOCATION_REASONS, USER_PROFILES, type RevocationReason, type UserProfile } from '../../workflows/definitions';
import { HttpError } from '../errors';
import { requestIdSchema } from '../support/schemas';
import { html, SafeHtml } from '../web/html';
import { link, mountAction, REASON_JA, userHref, type ConsoleDeps } from './kit';
import { parseUserId, profileLabel } from './pages';

interface UserTarget {
  userId: string;
  profile: UserProfile;
}

function userTarget(req: Request): UserTarget {
  const userId = parseUserId(req.params.userId);
  const profile = req.params.profile;
  if (typeof profile !== 'string' || !(USER_PROFILES as readonly string[]).includes(profile)) throw HttpError.badRequest('プロファイルの指定が正しくありません。', 'profile');
  return { userId, profile: profile as UserProfile };
}

/** The enrollment password, once, large and selectable with one click, to read out on the phone. */
export function passwordBlock(password: string): SafeHtml {
  return html`<p>新しいクライアント証明書取得用パスワード（この画面でのみ表示されます。電話でお伝えください）：</p>
<p><span class="password" id="enrollmentPassword">${password}</span>
<button type="button" onclick="navigator.clipboard&&navigator.clipboard.writeText(document.getElementById('enrollmentPassword').textContent)">コピー</button></p>`;
}

const backToUser = (userId: string) => html`<p>${link(userHref(userId), `ユーザ ${userId} の画面へ戻る`)}</p>`;

export function mountConsoleActions(router: Router, deps: ConsoleDeps): void {
  const who = (t: UserTarget) => html`<table class="form"><tr><th>ユーザID</th><td>${t.userId}</td></tr><tr><th>サービス</th><td>${profileLabel(deps, t.profile)}</td></tr></table>`;

  mountAction(router, '/users/:userId/:profile/reissue', deps, {
    name: 'reissue',
    title: '証明書の再発行',
    role: 'support',
    params: userTarget,
    target: (t) => `user:${t.userId}`,
    confirm: (t) => html`${who(t)}<p>現在の証明書を直ちに失効させ（superseded）、新しい申請を開始します。新しいパスワードはこの後の画面に一度だけ表示され、案内メールが送られます。</p>`,
    run: (t, actor) => reissue(deps, actor, t),
    detail: (r) => ({ profile: r.profile, predecessorRequestId: r.predecessorRequestId, requestId: r.requestId }),
    done: (r) => html`<div class="done">再発行を受け付けました。新しい申請ID：<strong id="requestId">${r.requestId}</strong>（前の申請 ${r.predecessorRequestId} は失効）</div>
${passwordBlock(r.enrollmentPassword)}${backToUser(r.userId)}`,
  });

  mountAction(router, '/users/:userId/:profile/revoke', deps, {
    name: 'revoke',
    title: '証明書の失効',
    role: 'admin',
    params: (req) => {
      const target = userTarget(req);
      if (req.method !== 'POST') return { ...target, reason: undefined };
      const reason = (req.body as Record<string, unknown>).reason;
      if (!(REVOCATION_REASONS as readonly unknown[]).includes(reason)) throw HttpError.badRequest('失効理由を選んでください。', 'reason');
      return { ...target, reason: reason as RevocationReason };
    },
    target: (t) => `user:${t.userId}`,
    confirm: (t) => html`${who(t)}<p>現在の証明書（更新前の有効な証明書を含む）を失効させます。失効は取り消せません。CRLに直ちに載ります。</p>`,
    fields: () => html`<p><label for="reason">失効理由（RFC 5280）</label>
<select id="reason" name="reason">${REVOCATION_REASONS.map((r) => html`<option value="${r}">${REASON_JA[r]}</option>`)}</select></p>`,
    run: (t, actor) => revoke(deps, actor, { userId: t.userId, profile: t.profile, reason: t.reason! }),
    detail: (r) => ({ profile: r.status.profile, requestId: r.requestId, reason: r.status.revocationReason }),
    done: (r, t) => html`<div class="done">申請 ${r.requestId} の証明書（シリアル番号 ${r.status.serial ?? 'なし'}）を失効させました。理由：${REASON_JA[r.status.revocationReason ?? 'unspecified']}${
      r.alsoRevokedRequestIds.length ? `。同時に失効：${r.alsoRevokedRequestIds.join(', ')}` : ''
    }</div>${backToUser(t.userId)}`,
  });

  mountAction(router, '/users/:userId/:profile/new-request', deps, {
    name: 'newRequest',
    title: '新規申請',
    role: 'support',
    params: userTarget,
    target: (t) => `user:${t.userId}`,
    confirm: (t) => html`${who(t)}<p>申請期限切れ・失効・有効期限切れの後に、新しい申請を開始します。パスワードと案内のメールがユーザに送られます。</p>`,
    run: (t) => startNewRequest(deps, t),
    detail: (r) => ({ profile: r.profile, predecessorRequestId: r.predecessorRequestId, requestId: r.requestId }),
    done: (r) => html`<div class="done">新しい申請 <strong id="requestId">${r.requestId}</strong> を開始しました。パスワードと案内のメールが送られます。</div>${backToUser(r.userId)}`,
  });

  mountAction(router, '/users/:userId/unlock', deps, {
    name: 'unlock',
    title: 'ログインロックの解除',
    role: 'support',
    params: (req) => ({ userId: parseUserId(req.params.userId) }),
    target: (t) => `user:${t.userId}`,
    confirm: (t) => html`<p>ユーザ ${t.userId} のログイン失敗回数とロックを解除します。</p>`,
    run: (t) => unlockUser(deps, t.userId),
    detail: () => ({}),
    done: (r) => html`<div class="done">ユーザ ${r.userId} のロックを解除しました。</div>${backToUser(r.userId)}`,
  });

  mountAction(router, '/requests/:requestId/password-reset', deps, {
    name: 'passwordReset',
    title: 'パスワードの再発行',
    role: 'support',
    params: (req) => {
      const parsed = requestIdSchema.safeParse(req.params.requestId);
      if (!parsed.success) throw HttpError.badRequest('申請IDが正しくありません。', 'requestId');
      return { requestId: parsed.data };
    },
    target: (t) => `request:${t.requestId}`,
    confirm: (t) => html`<p>鍵の取得待ちの申請 ${t.requestId} に新しいクライアント証明書取得用パスワードを発行します（古いパスワードは使えなくなり、ロックも解除されます）。</p>`,
    run: (t) => resetEnrollmentPassword(deps, t.requestId),
    detail: (r) => ({ userId: r.userId, profile: r.profile }),
    done: (r) => html`<div class="done">申請 ${r.requestId} のパスワードを再発行しました。</div>${passwordBlock(r.enrollmentPassword)}${backToUser(r.userId)}`,
  });

  mountAction(router, '/mails/resend', deps, {
    name: 'resendMail',
    title: 'メールの再送',
    role: 'support',
    params: (req) => {
      const key = req.query.key;
      if (typeof key !== 'string' || key.length === 0 || key.length > 200) throw HttpError.badRequest('再送するメールの指定が正しくありません。', 'key');
      return { key };
    },
    target: (t) => `mail:${t.key}`,
    confirm: async (t) => {
      const mail = await deps.mailOutbox.get(t.key);
      if (!mail) throw HttpError.notFound('このメールはありません。');
      return html`<table class="form"><tr><th>宛先</th><td>${mail.recipient}</td></tr><tr><th>件名</th><td>${mail.subject}</td></tr>
<tr><th>失敗の理由</th><td>${mail.lastError ?? ''}</td></tr></table><p>送信に失敗したこのメールをもう一度送ります。</p>`;
    },
    run: (t, actor) => resendFailedMail(deps, actor, t.key),
    detail: (r) => ({ resendKey: r.resendKey, kind: r.kind, status: r.status }),
    done: (r) =>
      r.status === 'sent'
        ? html`<div class="done">${r.recipient} 宛てのメール（${r.kind}）を再送しました。</div>`
        : html`<div class="error" role="alert">再送も受け付けられませんでした：${r.reason ?? ''}</div>`,
  });
}
