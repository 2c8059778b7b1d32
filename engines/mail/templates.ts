// The wording of every mail (mjml for HTML, plain text beside it), after the manual's 取得のご案内 and 更新のご案内.
import type { MailKind, RenderParamsByKind, SupportContact, ServiceIdentity } from './kinds';
import { formatDate, plainRevocationReason, requireUrl } from './values';

/** One mail's wording; `{{name}}` marks a value, escaped on substitution and required at render time. */
export interface MailTemplate<K extends MailKind> {
  subject: string;
  addressee: string;
  mjml: string;
  text: string;
  values(params: RenderParamsByKind[K]): Record<string, string>;
}

export type MailTemplates = { [K in MailKind]: MailTemplate<K> };

/** Values every mail carries: the service it is about and the support centre. */
export function commonValues(service: ServiceIdentity, support: SupportContact): Record<string, string> {
  return {
    serviceName: service.serviceName,
    subjectPrefix: service.subjectPrefix,
    supportPhone: support.phone,
    supportEmail: support.email,
    supportHours: support.hours,
    manualUrl: requireUrl(support.manualUrl, 'manualUrl'),
  };
}

const greeting = 'いつも格別のお引き立てをいただき厚くお礼申し上げます。';
const manualSentence =
  'お手続きに関しては、下記リンク先の「クライアント証明書新規取得・更新マニュアル」に詳細を記載しておりますので、ご参照くださいますようお願いいたします。';

export const layoutMjml = (addressee: string, body: string): string => `<mjml lang="ja">
  <mj-head>
    <mj-title>{{subject}}</mj-title>
    <mj-attributes>
      <mj-all font-family="'Hiragino Kaku Gothic ProN', Meiryo, 'Noto Sans JP', sans-serif" />
      <mj-text font-size="14px" line-height="1.7" color="#222222" padding="6px 24px" />
      <mj-button background-color="#1f5fa8" color="#ffffff" font-size="15px" padding="12px 24px" />
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f2f4f7">
    <mj-section background-color="#ffffff" padding="20px 0">
      <mj-column>
        <mj-text>${addressee}</mj-text>
        <mj-text>${greeting}</mj-text>
${body}
        <mj-divider border-width="1px" border-color="#cccccc" />
        <mj-text font-size="12px" color="#555555">このメールは団信ネットのユーザー情報としてご登録いただいたメールアドレスへ送信しております。</mj-text>
      </mj-column>
    </mj-section>
    <mj-section background-color="#eef2f7" padding="12px 0">
      <mj-column>
        <mj-text font-weight="bold">団信ネットサポートセンター</mj-text>
        <mj-text>フリーダイヤル：{{supportPhone}}<br />メールアドレス：<a href="mailto:{{supportEmail}}">{{supportEmail}}</a><br />受付時間：{{supportHours}}</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>`;

export const layoutText = (addressee: string, body: string): string => `${addressee}

${greeting}

${body.trim()}

このメールは団信ネットのユーザー情報としてご登録いただいたメールアドレスへ送信しております。

=====
団信ネットサポートセンター
フリーダイヤル：{{supportPhone}}
メールアドレス：{{supportEmail}}
受付時間：{{supportHours}}
=====
`;

const text = (...lines: string[]): string => lines.map((l) => `        <mj-text>${l}</mj-text>`).join('\n');
const button = (href: string, label: string): string =>
  `        <mj-button href="{{${href}}}">${label}</mj-button>\n        <mj-text font-size="12px"><a href="{{${href}}}">{{${href}}}</a></mj-text>`;
const manualLink = `        <mj-text>${manualSentence}<br />マニュアルリンク：<a href="{{manualUrl}}">{{manualUrl}}</a></mj-text>`;
const manualLinkText = `${manualSentence}\n\nマニュアルリンク：{{manualUrl}}`;
const serviceLong = '「団信加入査定インターネットサービス（{{serviceName}}）」';

export const templates: MailTemplates = {
  userIdNotice: {
    subject: 'ユーザーIDのお知らせ',
    addressee: 'ID管理者様',
    mjml: [
      text(
        `${serviceLong}のご利用者としてご登録いただいた担当者様のユーザーIDをお知らせいたします。`,
        'クライアント証明書の取得に必要となりますので、担当者様へお伝えくださいますようお願いいたします。',
        '【ユーザー情報】<br />担当者様の登録メールアドレス: {{userEmail}}<br />ユーザーID: <b>{{userId}}</b>',
        '※クライアント証明書取得用パスワードは、担当者様宛の{{subjectPrefix}}ログインパスワードのお知らせ メールにてお送りしております。',
      ),
    ].join('\n'),
    text: `${serviceLong}のご利用者としてご登録いただいた担当者様のユーザーIDをお知らせいたします。
クライアント証明書の取得に必要となりますので、担当者様へお伝えくださいますようお願いいたします。

【ユーザー情報】
担当者様の登録メールアドレス: {{userEmail}}
ユーザーID: {{userId}}

※クライアント証明書取得用パスワードは、担当者様宛の{{subjectPrefix}}ログインパスワードのお知らせ メールにてお送りしております。`,
    values: (p) => ({ userId: p.userId, userEmail: p.userEmail }),
  },

  enrollmentPassword: {
    subject: 'ログインパスワードのお知らせ',
    addressee: 'ご担当者様',
    mjml: [
      text(
        `${serviceLong}のクライアント証明書取得用パスワードをお知らせいたします。`,
        '【クライアント証明書取得用パスワード】<br /><b style="font-family:monospace;font-size:16px">{{enrollmentPassword}}</b>',
        'ユーザーIDは、ID管理者様宛の{{subjectPrefix}}ユーザーIDのお知らせ メールにてお送りしておりますので、管理者様にご確認ください。',
        '証明書取得用リンクとリクエストIDは、別途お送りする{{subjectPrefix}}クライアント証明書取得のご案内 メールに記載しております。',
        '※本パスワードは一度限り有効です。他の方に知られないようお取り扱いにご注意ください。',
      ),
    ].join('\n'),
    text: `${serviceLong}のクライアント証明書取得用パスワードをお知らせいたします。

【クライアント証明書取得用パスワード】
{{enrollmentPassword}}

ユーザーIDは、ID管理者様宛の{{subjectPrefix}}ユーザーIDのお知らせ メールにてお送りしておりますので、管理者様にご確認ください。
証明書取得用リンクとリクエストIDは、別途お送りする{{subjectPrefix}}クライアント証明書取得のご案内 メールに記載しております。

※本パスワードは一度限り有効です。他の方に知られないようお取り扱いにご注意ください。`,
    values: (p) => ({ enrollmentPassword: p.enrollmentPassword }),
  },

  acquisitionGuide: {
    subject: 'クライアント証明書取得のご案内',
    addressee: 'ご担当者様',
    mjml: [
      text(
        `${serviceLong}のご利用に際し、クライアント証明書をご利用の端末に導入いただく必要があります。`,
        `つきましては、${serviceLong}をご利用いただく端末から、下記の証明書取得用URLへアクセスいただき、クライアント証明書の取得手続きをお願いいたします。`,
      ),
      button('acquisitionUrl', '証明書取得用リンク'),
      text(
        '【証明書情報】<br />Request ID: <b>{{requestId}}</b><br />(ご参考)ユーザーID: {{userId}}',
        '本メールの有効期限: {{validUntil}}（証明書情報の発行後30日間）<br />有効期限を過ぎるとお手続きを進めることができません。その場合は下記サポートセンターまでご連絡ください。',
      ),
      manualLink,
      text(
        '※証明書取得の際には、別途送付いたします下記メールに記載のユーザーID・クライアント証明書取得用パスワードをご確認ください。<br />・{{subjectPrefix}}ユーザーIDのお知らせ ※管理者様宛に送付済です<br />・{{subjectPrefix}}ログインパスワードのお知らせ',
        '※鍵の取得を開始したお手続きは、当日中に完了してください。',
        '※証明書取得手続きにおいてエラーが発生した場合は、上記マニュアルリンク先の「クライアント証明書新規取得・更新マニュアル よくある質問（FAQ）」をご確認ください。',
      ),
    ].join('\n'),
    text: `${serviceLong}のご利用に際し、クライアント証明書をご利用の端末に導入いただく必要があります。

つきましては、${serviceLong}をご利用いただく端末から、下記の証明書取得用URLへアクセスいただき、クライアント証明書の取得手続きをお願いいたします。

{{acquisitionUrl}}

【証明書情報】
Request ID: {{requestId}}
(ご参考)ユーザーID: {{userId}}

本メールの有効期限: {{validUntil}}（証明書情報の発行後30日間）
有効期限を過ぎるとお手続きを進めることができません。その場合は下記サポートセンターまでご連絡ください。

${manualLinkText}

※証明書取得の際には、別途送付いたします下記メールに記載のユーザーID・クライアント証明書取得用パスワードをご確認ください。
・{{subjectPrefix}}ユーザーIDのお知らせ ※管理者様宛に送付済です
・{{subjectPrefix}}ログインパスワードのお知らせ

※鍵の取得を開始したお手続きは、当日中に完了してください。
※証明書取得手続きにおいてエラーが発生した場合は、上記マニュアルリンク先の「クライアント証明書新規取得・更新マニュアル よくある質問（FAQ）」をご確認ください。`,
    values: (p) => ({
      acquisitionUrl: requireUrl(p.acquisitionUrl, 'acquisitionUrl'),
      requestId: p.requestId,
      userId: p.userId,
      validUntil: formatDate(p.validUntil, 'validUntil'),
    }),
  },

  renewalNotice: {
    subject: 'クライアント証明書更新のご案内',
    addressee: 'ご担当者様',
    mjml: [
      text(
        `${serviceLong}のご利用に際し、クライアント証明書をご利用の端末に導入いただいていることと存じますが、現在ご利用のクライアント証明書がまもなく有効期限（発行より3年）を迎えます（残り{{daysLeft}}日）。`,
        'つきましては、クライアント証明書の再インストールが必要となりますので、下記の更新用URLから更新のお手続きをお願いいたします。',
        '※「クライアント証明書の有効期限」までに更新を行わなかった場合は、当システムにログインする際にエラーが発生し、ログインすることができなくなります。',
      ),
      button('renewalUrl', '更新用リンク'),
      text('【現在ご使用の証明書情報】<br />ユーザーID: <b>{{userId}}</b><br />有効期限: {{validity}}'),
      manualLink,
      text('※更新のお手続きが完了した後は、以降の更新案内メールは送信されません。'),
    ].join('\n'),
    text: `${serviceLong}のご利用に際し、クライアント証明書をご利用の端末に導入いただいていることと存じますが、現在ご利用のクライアント証明書がまもなく有効期限（発行より3年）を迎えます（残り{{daysLeft}}日）。

つきましては、クライアント証明書の再インストールが必要となりますので、下記の更新用URLから更新のお手続きをお願いいたします。

※「クライアント証明書の有効期限」までに更新を行わなかった場合は、当システムにログインする際にエラーが発生し、ログインすることができなくなります。

{{renewalUrl}}

【現在ご使用の証明書情報】
ユーザーID: {{userId}}
有効期限: {{validity}}

${manualLinkText}

※更新のお手続きが完了した後は、以降の更新案内メールは送信されません。`,
    values: (p) => ({
      renewalUrl: requireUrl(p.renewalUrl, 'renewalUrl'),
      userId: p.userId,
      validity: `${formatDate(p.notBefore, 'notBefore')}~${formatDate(p.notAfter, 'notAfter')}`,
      daysLeft: Number.isInteger(p.daysLeft) && p.daysLeft > 0 ? String(p.daysLeft) : '',
    }),
  },

  requestExpired: {
    subject: 'クライアント証明書取得のご案内 有効期限切れのお知らせ',
    addressee: 'ご担当者様',
    mjml: [
      text(
        `${serviceLong}のクライアント証明書取得のご案内は、有効期限（証明書情報の発行後30日間）の{{expiredAt}}を過ぎたため、お手続きを進めることができなくなりました。`,
        '【証明書情報】<br />Request ID: {{requestId}}<br />(ご参考)ユーザーID: {{userId}}',
        '引き続きクライアント証明書の取得をご希望の場合は、ユーザーIDをご確認の上、下記サポートセンターまでお電話ください。新しい取得のご案内をお送りいたします。',
      ),
    ].join('\n'),
    text: `${serviceLong}のクライアント証明書取得のご案内は、有効期限（証明書情報の発行後30日間）の{{expiredAt}}を過ぎたため、お手続きを進めることができなくなりました。

【証明書情報】
Request ID: {{requestId}}
(ご参考)ユーザーID: {{userId}}

引き続きクライアント証明書の取得をご希望の場合は、ユーザーIDをご確認の上、下記サポートセンターまでお電話ください。新しい取得のご案内をお送りいたします。`,
    values: (p) => ({ requestId: p.requestId, userId: p.userId, expiredAt: formatDate(p.expiredAt, 'expiredAt') }),
  },

  reissueReady: {
    subject: 'クライアント証明書再発行準備完了のお知らせ',
    addressee: 'ご担当者様',
    mjml: [
      text(
        `ご依頼いただいた${serviceLong}のクライアント証明書の再発行の準備が整いました。`,
        'ご利用いただく端末から、下記の証明書取得用URLへアクセスいただき、クライアント証明書の取得手続きをお願いいたします。',
      ),
      button('acquisitionUrl', '証明書取得用リンク'),
      text(
        '【証明書情報】<br />Request ID: <b>{{requestId}}</b>',
        '本メールの有効期限: {{validUntil}}（証明書情報の発行後30日間）',
        '※ユーザーIDとクライアント証明書取得用パスワードは、再発行のご依頼時にサポートセンターからお伝えしたものをご利用ください。',
        '※再発行のご依頼により、それまでご利用のクライアント証明書は失効し、使用できなくなっております。取得後は古いクライアント証明書をパソコンから削除してください。',
      ),
      manualLink,
    ].join('\n'),
    text: `ご依頼いただいた${serviceLong}のクライアント証明書の再発行の準備が整いました。
ご利用いただく端末から、下記の証明書取得用URLへアクセスいただき、クライアント証明書の取得手続きをお願いいたします。

{{acquisitionUrl}}

【証明書情報】
Request ID: {{requestId}}

本メールの有効期限: {{validUntil}}（証明書情報の発行後30日間）

※ユーザーIDとクライアント証明書取得用パスワードは、再発行のご依頼時にサポートセンターからお伝えしたものをご利用ください。
※再発行のご依頼により、それまでご利用のクライアント証明書は失効し、使用できなくなっております。取得後は古いクライアント証明書をパソコンから削除してください。

${manualLinkText}`,
    values: (p) => ({
      acquisitionUrl: requireUrl(p.acquisitionUrl, 'acquisitionUrl'),
      requestId: p.requestId,
      validUntil: formatDate(p.validUntil, 'validUntil'),
    }),
  },

  certificateRevoked: {
    subject: 'クライアント証明書失効のお知らせ',
    addressee: 'ご担当者様',
    mjml: [
      text(
        `${serviceLong}でご利用のクライアント証明書を{{revokedAt}}付けで失効いたしました。失効したクライアント証明書では当システムにログインできません。`,
        '【失効した証明書の情報】<br />ユーザーID: {{userId}}<br />Request ID: {{requestId}}<br />失効日: {{revokedAt}}<br />失効理由: {{reason}}',
        'お心当たりがない場合や、引き続きご利用になる場合は、ユーザーIDをご確認の上、下記サポートセンターまでお電話ください。',
      ),
    ].join('\n'),
    text: `${serviceLong}でご利用のクライアント証明書を{{revokedAt}}付けで失効いたしました。失効したクライアント証明書では当システムにログインできません。

【失効した証明書の情報】
ユーザーID: {{userId}}
Request ID: {{requestId}}
失効日: {{revokedAt}}
失効理由: {{reason}}

お心当たりがない場合や、引き続きご利用になる場合は、ユーザーIDをご確認の上、下記サポートセンターまでお電話ください。`,
    values: (p) => ({
      userId: p.userId,
      requestId: p.requestId,
      reason: plainRevocationReason(p.reason),
      revokedAt: formatDate(p.revokedAt, 'revokedAt'),
    }),
  },

  loginAttempts: {
    subject: 'ログイン失敗に関するお知らせ',
    addressee: 'ご担当者様',
    mjml: [
      text(
        `${serviceLong}のクライアント証明書取得用ページで、お客様のユーザーIDによるログインが{{at}}に{{failures}}回続けて失敗しました。`,
        '【対象のユーザー情報】<br />ユーザーID: {{userId}}',
        'ご本人による操作であれば、ユーザーIDとクライアント証明書取得用パスワードをご確認の上、しばらく時間をおいてから再度お試しください。',
        'お心当たりがない場合は、第三者がログインを試みているおそれがあります。ユーザーIDをご確認の上、下記サポートセンターまでお電話ください。',
        '※安全のため、ログインの失敗が続くと次のログインまでお待ちいただく時間が長くなります。正しいパスワードであれば、お待ちいただいた後にログインできます。<br />※このお知らせは、同じユーザーIDについて1日に1回までお送りしております。',
      ),
    ].join('\n'),
    text: `${serviceLong}のクライアント証明書取得用ページで、お客様のユーザーIDによるログインが{{at}}に{{failures}}回続けて失敗しました。

【対象のユーザー情報】
ユーザーID: {{userId}}

ご本人による操作であれば、ユーザーIDとクライアント証明書取得用パスワードをご確認の上、しばらく時間をおいてから再度お試しください。
お心当たりがない場合は、第三者がログインを試みているおそれがあります。ユーザーIDをご確認の上、下記サポートセンターまでお電話ください。

※安全のため、ログインの失敗が続くと次のログインまでお待ちいただく時間が長くなります。正しいパスワードであれば、お待ちいただいた後にログインできます。
※このお知らせは、同じユーザーIDについて1日に1回までお送りしております。`,
    values: (p) => ({
      userId: p.userId,
      failures: Number.isInteger(p.failures) && p.failures > 0 ? String(p.failures) : '',
      at: formatDate(p.at, 'at'),
    }),
  },
};
