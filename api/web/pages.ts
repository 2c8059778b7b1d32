// The user's screens, as the manual shows them; each returns a complete HTML document.
import type { SupportContact } from '../../engines/mail';
import { PKCS12_PASSWORD_MIN_LENGTH } from '../../engines/pki';
import { formatTokyo, html, type SafeHtml } from './html';
import { errorBox, formToken, menuList, page, type MenuEntry } from './layout';


export interface ServiceIdentity {
  profile: string;
  serviceName: string;
}

export const enrollmentPaths = (profile: string) => {
  const base = `/enroll/${profile}`;
  return {
    login: `${base}/login`,
    menu: `${base}/`,
    key: `${base}/key`,
    download: `${base}/download`,
    requests: `${base}/requests`,
    details: `${base}/details`,
    detailsOf: (requestId: string) => `${base}/details?requestId=${encodeURIComponent(requestId)}`,
    certificate: `${base}/certificate`,
    notices: `${base}/notices`,
    contact: `${base}/contact`,
    logout: `${base}/logout`,
  };
};

export const renewalPaths = (profile: string) => {
  const base = `/renew/${profile}`;
  return {
    menu: `${base}/`,
    apply: `${base}/apply`,
    processing: (requestId: string) => `${base}/processing/${requestId}`,
    key: `${base}/key`,
    keyFor: (requestId: string) => `${base}/key?requestId=${encodeURIComponent(requestId)}`,
    download: `${base}/download`,
    resume: `${base}/resume`,
    notices: `${base}/notices`,
    contact: `${base}/contact`,
  };
};

export function enrollmentMenu(profile: string): { menu: MenuEntry[]; topLinks: MenuEntry[] } {
  const p = enrollmentPaths(profile);
  return {
    topLinks: [
      { label: 'トップページ', href: p.menu },
      { label: 'ログアウト', href: p.logout },
    ],
    menu: [
      { label: '証明書発行申請' },
      { label: '申請情報の詳細', href: p.details, description: 'リクエスト ID を指定して、証明書発行申請情報の詳細を表示します。' },
      { label: '申請情報一覧', href: p.requests, description: 'これまでに送信した証明書発行申請情報を一覧表示します。' },
      { label: '証明書の管理' },
      { label: '証明書の取得', href: p.certificate, description: 'リクエスト ID を指定して、証明書を取得します。' },
      { label: '鍵の取得', href: p.key, description: '鍵を取得します。' },
      { label: 'お知らせ', href: p.notices, description: 'サービスからのお知らせを表示します。' },
      { label: '問い合わせ連絡先', href: p.contact, description: '問い合わせ連絡先を表示します。' },
    ],
  };
}

export function renewalMenu(profile: string): { menu: MenuEntry[]; topLinks: MenuEntry[] } {
  const p = renewalPaths(profile);
  return {
    topLinks: [{ label: 'トップへ', href: p.menu }],
    menu: [
      { label: '証明書の更新' },
      { label: '証明書更新申請', href: p.apply, description: '提示した証明書の更新を申請します。' },
      { label: '更新後証明書の取得', href: p.resume, description: '更新申請後、取得が中断した証明書の鍵を取得します。' },
      { label: 'お知らせ', href: p.notices, description: 'サービスからのお知らせを表示します。' },
      { label: '問い合わせ連絡先', href: p.contact, description: '問い合わせ連絡先を表示します。' },
    ],
  };
}

export function loginPage(o: { service: ServiceIdentity; token: string; userId?: string; error?: string }): string {
  return page({
    title: 'ユーザ認証',
    body: html`<p>${o.service.serviceName} クライアント証明書の取得</p>
<p>選択されたポリシーでは、証明書の発行にユーザ認証が必要です。<br>ユーザ ID とパスワードを入力してください。</p>
${errorBox(o.error)}
<form method="post" action="${enrollmentPaths(o.service.profile).login}">${formToken(o.token)}
<table class="form">
<tr><th><label for="userId">ユーザ ID</label></th><td><input type="text" id="userId" name="userId" maxlength="64" autocomplete="username" value="${o.userId ?? ''}" required></td></tr>
<tr><th><label for="password">パスワード</label></th><td><input type="password" id="password" name="password" maxlength="128" autocomplete="current-password" required></td></tr>
</table>
<button type="submit">Login</button></form>
<p class="note">※ログインした状態で一定時間作業を行わなかった場合は自動的にログアウトします。<br>
メニュー項目をクリックしてセッションが無効であることを示す画面が表示された場合は1度画面を閉じ、メールに記載の「証明書取得用リンク」から再度実施してください。</p>`,
  });
}

export function enrollmentTopPage(o: { profile: string; userId: string }): string {
  const chrome = enrollmentMenu(o.profile);
  return page({
    title: 'サイバートラスト マネージドPKI',
    ...chrome,
    body: html`<p>サイバートラスト マネージドPKIのご利用者さま向け画面です。（ユーザ ID: ${o.userId}）</p>
${menuList(chrome.menu)}`,
  });
}

/** The リクエスト ID row of the forms that take one (鍵の取得, 申請情報の詳細, 証明書の取得). */
function requestIdInput(requestId: string | undefined, readonly = false): SafeHtml {
  return html`<tr><th><label for="requestId">リクエスト ID</label></th><td><input type="text" id="requestId" name="requestId" maxlength="15" inputmode="numeric" value="${requestId ?? ''}" ${readonly ? 'readonly' : ''} required></td></tr>`;
}

export interface KeyPageOptions {
  chrome: { menu: MenuEntry[]; topLinks: MenuEntry[] };
  action: string;
  token: string;
  requestId?: string;
  error?: string;
  /** Renewal: the request ID is set by the system and need not be changed. */
  prefilled?: boolean;
}

export function keyRetrievalPage(o: KeyPageOptions): string {
  return page({
    title: '鍵の取得',
    ...o.chrome,
    body: html`<p>ダウンロードしたい鍵の発行申請時のリクエスト ID と、鍵を暗号化するパスワードを入力してください。</p>
${errorBox(o.error)}
<form method="post" action="${o.action}">${formToken(o.token)}
<table class="form">
${requestIdInput(o.requestId, o.prefilled)}
<tr><th><label for="password">パスワード</label></th><td><input type="password" id="password" name="password" minlength="${PKCS12_PASSWORD_MIN_LENGTH}" maxlength="128" autocomplete="new-password" required></td></tr>
<tr><th><label for="passwordConfirmation">パスワードの確認</label></th><td><input type="password" id="passwordConfirmation" name="passwordConfirmation" maxlength="128" autocomplete="new-password" required></td></tr>
</table>
<button type="submit">Submit</button></form>
<p class="note">鍵取得時のパスワードは任意で設定するものです。事前にご案内した情報には含まれていません。<br>
パスワードは${PKCS12_PASSWORD_MIN_LENGTH}文字以上の半角英数字・記号で、ユーザーIDとは異なるものを設定してください。証明書のインポート時に使用しますので、お手元にお控えください。</p>
<p class="note">※ 当画面以降の<strong>お手続きは当日中に完了</strong>してください。</p>
${o.prefilled ? '' : html`<p class="note">※ メールの有効期限（証明書情報の発行後30日間）が切れている場合は、当画面以降のお手続きを進めることができません。表紙に記載のお問合せ先までご連絡ください。</p>`}`,
  });
}

export function downloadPage(o: { chrome: { menu: MenuEntry[]; topLinks: MenuEntry[] }; action: string; token: string; downloadDeadline: string }): string {
  return page({
    title: '鍵の取得',
    ...o.chrome,
    body: html`<p>鍵をダウンロードします。鍵のダウンロードまたはインストールを行うには、「Download」ボタンをクリックしてください。</p>
<form method="post" action="${o.action}">${formToken(o.token)}<button type="submit">Download</button></form>
<p class="note">※ ダウンロードの期限: ${formatTokyo(o.downloadDeadline)}（当日中）</p>`,
  });
}

export function contactPage(o: { chrome: { menu: MenuEntry[]; topLinks: MenuEntry[] }; support: SupportContact; serviceName: string }): string {
  return page({
    title: '問い合わせ連絡先',
    ...o.chrome,
    body: html`<p>クライアント証明書の新規取得、更新に関するお問合せは、以下までご連絡ください。</p>
<table class="form">
<tr><th>お問合せ先</th><td>${o.serviceName} サポートセンター</td></tr>
<tr><th>電話番号</th><td>${o.support.phone}（通話料無料）</td></tr>
<tr><th>メールアドレス</th><td>${o.support.email}</td></tr>
<tr><th>受付時間</th><td>${o.support.hours}</td></tr>
<tr><th>マニュアル</th><td><a href="${o.support.manualUrl}">クライアント証明書新規取得・更新マニュアル</a></td></tr>
</table>`,
  });
}

export function noticesPage(o: { chrome: { menu: MenuEntry[]; topLinks: MenuEntry[] } }): string {
  return page({
    title: 'お知らせ',
    ...o.chrome,
    body: html`<ul>
<li>クライアント証明書の有効期限は発行より3年間です。有効期限の30日前から更新できます（30日前と7日前に更新案内メールが送信されます）。</li>
<li>鍵の取得を始めたら、お手続きは当日中に完了してください。</li>
<li>【クライアント証明書取得のご案内】メールの有効期限は、証明書情報の発行後30日間です。</li>
<li>クライアント証明書の取得は、Microsoft Edge もしくは Google Chrome にて実施してください。</li>
</ul>`,
  });
}

export interface RequestRow {
  requestId: string;
  kind: string;
  status: string;
  createdAt: Date;
  guideExpiresAt?: Date;
  notAfter?: Date;
}

const KIND_JA: Record<string, string> = { new: '新規', reissue: '再発行', renewal: '更新' };

export const STATUS_JA: Record<string, string> = {
  reserved: '受付中',
  awaitingKeyRetrieval: '発行済み',
  keyReady: '発行済み',
  active: '取得済み',
  renewed: '更新済み',
  requestExpired: '期限切れ',
  revoked: '失効',
  expired: '有効期限切れ',
};

export function requestListPage(o: { profile: string; rows: RequestRow[] }): string {
  return page({
    title: '申請情報一覧',
    ...enrollmentMenu(o.profile),
    body: html`<p>${o.rows.length} 件の申請があります。</p>
<table class="list"><tr><th>リクエストID</th><th>種別</th><th>申請日時</th><th>メールの有効期限</th><th>証明書の有効期限</th><th>ステータス</th></tr>
${o.rows.map((r) => html`<tr><td><a href="${enrollmentPaths(o.profile).detailsOf(r.requestId)}">${r.requestId}</a></td><td>${KIND_JA[r.kind] ?? r.kind}</td><td>${formatTokyo(r.createdAt)}</td><td>${formatTokyo(r.guideExpiresAt)}</td><td>${formatTokyo(r.notAfter)}</td><td>${STATUS_JA[r.status] ?? r.status}</td></tr>`)}
</table>`,
  });
}

/** 申請情報の詳細 without a request ID yet: asks for one (a GET form, since looking changes nothing). */
export function requestDetailsFormPage(o: { profile: string; requestId?: string; error?: string }): string {
  return page({
    title: '申請情報の詳細',
    ...enrollmentMenu(o.profile),
    body: html`<p>詳細を表示したい証明書発行申請のリクエスト ID を入力してください。</p>
${errorBox(o.error)}
<form method="get" action="${enrollmentPaths(o.profile).details}">
<table class="form">${requestIdInput(o.requestId)}</table>
<button type="submit">Submit</button></form>`,
  });
}

export interface RequestDetailsView {
  requestId: string;
  kind: string;
  status: string;
  createdAt: Date;
  guideExpiresAt?: Date;
  certificate?: {
    serial: string;
    notBefore: Date;
    notAfter: Date;
    subject: { commonName: string; organizationalUnits: string[]; organization: string; country: string };
    email: string;
    revokedAt?: Date;
  };
}

export function requestDetailsPage(o: { profile: string; details: RequestDetailsView }): string {
  const d = o.details;
  const c = d.certificate;
  const p = enrollmentPaths(o.profile);
  return page({
    title: '申請情報の詳細',
    ...enrollmentMenu(o.profile),
    body: html`<table class="list" id="request">
<tr><th>リクエストID</th><td>${d.requestId}</td></tr>
<tr><th>種別</th><td>${KIND_JA[d.kind] ?? d.kind}</td></tr>
<tr><th>ステータス</th><td>${STATUS_JA[d.status] ?? d.status}</td></tr>
<tr><th>申請日時</th><td>${formatTokyo(d.createdAt)}</td></tr>
<tr><th>メールの有効期限</th><td>${formatTokyo(d.guideExpiresAt)}</td></tr>
</table>
${
  c
    ? html`<h2>証明書</h2>
<table class="list" id="certificate">
<tr><th>シリアル番号</th><td>${c.serial}</td></tr>
<tr><th>有効期間</th><td>${formatTokyo(c.notBefore)} ～ ${formatTokyo(c.notAfter)}</td></tr>
<tr><th>Common Name</th><td>${c.subject.commonName}</td></tr>
${c.subject.organizationalUnits.map((ou) => html`<tr><th>Organizational Unit</th><td>${ou}</td></tr>`)}
<tr><th>Organization</th><td>${c.subject.organization}</td></tr>
<tr><th>Country</th><td>${c.subject.country}</td></tr>
<tr><th>通知用メールアドレス</th><td>${c.email}</td></tr>
${c.revokedAt ? html`<tr><th>失効日時</th><td>${formatTokyo(c.revokedAt)}</td></tr>` : ''}
</table>`
    : html`<p class="note">このリクエストの証明書はまだ発行されていません。</p>`
}
<p><a href="${p.requests}">申請情報一覧へ戻る</a></p>`,
  });
}

/** 証明書の取得: the public certificate only (DER, .cer), by request ID; the key is never part of it. */
export function certificateRetrievalPage(o: { profile: string; token: string; requestId?: string; error?: string }): string {
  return page({
    title: '証明書の取得',
    ...enrollmentMenu(o.profile),
    body: html`<p>取得したい証明書の発行申請時のリクエスト ID を入力して、「Submit」ボタンをクリックしてください。</p>
${errorBox(o.error)}
<form method="post" action="${enrollmentPaths(o.profile).certificate}">${formToken(o.token)}
<table class="form">${requestIdInput(o.requestId)}</table>
<button type="submit">Submit</button></form>
<p class="note">※ 取得できるのは証明書（公開鍵を含むファイル、DER 形式 .cer）のみです。鍵は含まれません。鍵は「鍵の取得」でのみ取得できます。</p>`,
  });
}

/** A page that only says something: an error, the idle timeout, a refusal. */
export function messagePage(o: { title: string; message: string; chrome?: { menu: MenuEntry[]; topLinks: MenuEntry[] }; detail?: SafeHtml }): string {
  return page({ title: o.title, ...(o.chrome ?? {}), body: html`${errorBox(o.message)}${o.detail ?? ''}` });
}
