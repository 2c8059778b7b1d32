// The renewal screens (証明書更新申請, processing, 更新後証明書の取得) and the page for a refused certificate.
import { formatTokyo, html } from '../web/html';
import { errorBox, formToken, menuList, page } from '../web/layout';
import { REFUSALS_JA } from '../web/messages';
import { renewalMenu, renewalPaths, STATUS_JA } from '../web/pages';
import type { IssuanceRequest } from '../../stores';
import type { CertificateRefusal, PresentedCertificate } from '../../domain';
import { rulesOf } from '../../workflows/definitions';

export function refusalPage(o: { refusal: CertificateRefusal }): string {
  return page({
    title: 'クライアント証明書を確認できません',
    body: html`${errorBox(REFUSALS_JA[o.refusal])}
<p class="note">団信ネットにこの状態でアクセスすると「forbidden」（HTTP 403）と表示されます。</p>`,
  });
}

export function renewalTopPage(o: { profile: string; serviceName: string; certificate: PresentedCertificate }): string {
  const chrome = renewalMenu(o.profile);
  return page({
    title: '証明書の更新',
    ...chrome,
    body: html`<p>${o.serviceName} クライアント証明書の更新</p>
<table class="form">
<tr><th>ユーザ ID</th><td>${o.certificate.commonName}</td></tr>
<tr><th>有効期間</th><td>${formatTokyo(o.certificate.notBefore)} ～ ${formatTokyo(o.certificate.notAfter)}</td></tr>
</table>
${menuList(chrome.menu)}`,
  });
}

export function renewalApplyPage(o: {
  profile: string;
  certificate: PresentedCertificate;
  subscriberId: string;
  email: string;
  token?: string;
  error?: string;
}): string {
  const c = o.certificate;
  return page({
    title: '鍵更新申請情報の確認',
    ...renewalMenu(o.profile),
    body: html`${errorBox(o.error)}
${o.token ? html`<p>以下の内容で証明書更新申請を送信します。<br>よろしければ「Submit」ボタンをクリックしてください。</p>` : html`<p>提示された証明書の内容は以下のとおりです。</p>`}
<table class="list">
<tr><th>Common Name</th><td>${c.commonName}</td></tr>
${c.organizationalUnits.map((ou) => html`<tr><th>Organizational Unit</th><td>${ou}</td></tr>`)}
<tr><th>Organization</th><td>${c.organization}</td></tr>
<tr><th>Country</th><td>${c.country}</td></tr>
<tr><th>サブスクリバ ID</th><td>${o.subscriberId}</td></tr>
<tr><th>通知用メールアドレス</th><td>${o.email}</td></tr>
<tr><th>有効期限（現在の証明書）</th><td>${formatTokyo(c.notAfter)}</td></tr>
</table>
${o.token ? html`<form method="post" action="${renewalPaths(o.profile).apply}">${formToken(o.token)}<button type="submit">Submit</button></form>` : ''}`,
  });
}

export function processingPage(o: { profile: string; requestId: string }): string {
  return page({
    title: '証明書更新申請',
    ...renewalMenu(o.profile),
    refreshSeconds: 2,
    body: html`<p>更新申請を処理しています。しばらくお待ちください。この画面は自動で更新されます。</p>
<p>リクエスト ID: <span id="requestId">${o.requestId}</span></p>`,
  });
}

export function resumeListPage(o: { profile: string; commonName: string; rows: IssuanceRequest[] }): string {
  const p = renewalPaths(o.profile);
  const n = o.rows.length;
  return page({
    title: '更新申請情報の一覧',
    ...renewalMenu(o.profile),
    body: html`<p>${n} 件中 ${n ? 1 : 0} - ${n} 件目を表示しています。</p>
<table class="list"><tr><th>リクエストID</th><th>Common Name</th><th>証明書更新申請日時</th><th>有効期限</th><th>ステータス</th><th>取得</th></tr>
${o.rows.map((r) => {
  const retrievable = rulesOf(r.status).awaitingDownload;
  return html`<tr><td>${r.requestId}</td><td>${o.commonName}</td><td>${formatTokyo(r.createdAt)}</td><td>${formatTokyo(r.guideExpiresAt)}</td><td>${STATUS_JA[r.status] ?? r.status}</td><td>${retrievable ? html`<a href="${p.keyFor(r.requestId)}">Download key</a>` : ''}</td></tr>`;
})}
</table>
${n === 0 ? html`<p class="note">リクエストIDが表示されていない場合は、画面左側の『<a href="${p.apply}">証明書更新申請</a>』から再度お手続きください。</p>` : ''}`,
  });
}
