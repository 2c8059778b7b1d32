// Every message the user's pages show, in Japanese, in one place.
import type { CertificateRefusal } from '../../domain';
import { formatTokyo } from './html';

export const MESSAGES = {
  loginFailed:
    'ユーザ ID またはパスワードが正しくありません。入力内容をご確認ください。失敗が続くと、次にログインできるまでお待ちいただく時間が長くなります。',
  loginRateLimited: 'この接続元からのログインの失敗が多すぎます。しばらく時間をおいてから、もう一度お試しください。',
  sessionInvalid:
    'セッションが無効です。一定時間操作がなかったため自動的にログアウトしたか、ログインしていません。1度画面を閉じ、【クライアント証明書取得のご案内】メールに記載の「証明書取得用リンク」から再度お手続きください。',
  formTokenInvalid:
    'この画面の送信は無効です（送信済みの画面の再送信、または有効期限切れの画面です）。お手数ですが、メニューからもう一度画面を開き直してください。',
  requestIdInvalid: 'リクエスト ID が正しくありません。案内メールに記載の「リクエストID」（半角数字15桁）をご確認ください。',
  passwordMissing: 'パスワードを入力してください。',
  passwordMismatch: 'パスワードとパスワードの確認が一致しません。同じ内容を2回入力してください。',
  userIdMissing: 'ユーザ ID を入力してください。',
  fieldTooLong: '入力が長すぎます。',
  requestExpired:
    'メールの有効期限（証明書情報の発行後30日間）が切れているため、お手続きを進めることができません。表紙に記載のお問合せ先までご連絡ください。',
  keyAlreadyRetrieved: 'このリクエスト ID の鍵はすでに取得済みです。',
  requestWithdrawn: 'このリクエスト ID は無効になっています（再発行・失効など）。表紙に記載のお問合せ先までご連絡ください。',
  certificateNotIssued:
    'このリクエスト ID の証明書はまだ取得できません。「鍵の取得」で鍵をダウンロードすると、証明書を取得できるようになります。',
  certificateRevoked: 'このリクエスト ID の証明書は失効しているため、取得できません。表紙に記載のお問合せ先までご連絡ください。',
  nothingToDownload: 'ダウンロードできる鍵がありません。「鍵の取得」からもう一度お手続きください。',
  downloadDeadlinePassed:
    '当日中にお手続きが完了しなかったため、この鍵はダウンロードできなくなりました。「鍵の取得」からもう一度お手続きください。',
  loggedOut: 'ログアウトしました。続けてお手続きする場合は、メールに記載の「証明書取得用リンク」から再度ログインしてください。',
  notFound: 'お探しのページは見つかりません。メールに記載のリンクをご確認ください。',
  internal: 'システムで問題が発生しました。しばらく時間をおいてから、もう一度お試しください。解決しない場合は表紙に記載のお問合せ先までご連絡ください。',
  badRequest: '送信された内容が正しくありません。画面を開き直してから、もう一度お試しください。',
  temporarilyUnavailable: 'ただいま処理を受け付けられません。しばらく時間をおいてから、もう一度お試しください。',
} as const;

/** How long a user ID under repeated failures waits: seconds below a minute, else whole minutes rounded up. */
export function loginDelayed(retryAfterMs: number): string {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const wait = seconds < 60 ? `${seconds}秒` : `${Math.ceil(seconds / 60)}分`;
  return `このユーザ ID ではログインの失敗が続いているため、安全のため少しの間ログインをお受けできません。約${wait}後に、もう一度お試しください。お心当たりのない失敗が続く場合は、表紙に記載のお問合せ先までご連絡ください。`;
}

/** Why the TLS listener cannot accept the presented client certificate. */
export const REFUSALS_JA: Record<CertificateRefusal, string> = {
  none: 'クライアント証明書が提示されませんでした。更新対象の証明書を選択して、もう一度アクセスしてください。',
  foreign: '提示されたクライアント証明書は、このサービスの証明書ではありません。更新対象の証明書を選択して、もう一度アクセスしてください。',
  revoked: '提示されたクライアント証明書は失効しています。更新はできません。表紙に記載のお問合せ先までご連絡ください。',
  expired: '提示されたクライアント証明書は有効期限が切れています。更新はできません。表紙に記載のお問合せ先までご連絡ください（再発行を承ります）。',
  notYetValid: '提示されたクライアント証明書はまだ有効期間が始まっていません。',
};

export const RENEWAL_MESSAGES = {
  alreadyRenewed: 'この証明書はすでに更新申請済みです。画面左側の『更新後証明書の取得』から鍵を取得してください。',
  notRetrievedYet: 'この証明書はまだ取得手続きが完了していません。',
  notOpenYet: (days: number, opensAt: Date) => `証明書の更新は有効期限の${days}日前（${formatTokyo(opensAt)}）から可能です。それまでは現在の証明書をご利用ください。`,
} as const;
