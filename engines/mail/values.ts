// Turning a mail's parameters into the strings a template shows; anything unusable is a render error, never a blank.
import type { RevocationReason } from '../../workflows/definitions';

/** A mail that cannot be rendered correctly: a bug or bad input, so retrying cannot help. */
export class MailRenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MailRenderError';
  }
}

const tokyoDate = new Intl.DateTimeFormat('ja-JP', {
  timeZone: 'Asia/Tokyo',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** YYYY/MM/DD in Asia/Tokyo, as the manual writes validity periods. */
export function formatDate(iso: string | undefined, name: string): string {
  const at = typeof iso === 'string' ? new Date(iso) : undefined;
  if (!at || Number.isNaN(at.getTime())) throw new MailRenderError(`${name} is not a date: ${String(iso)}`);
  return tokyoDate.format(at);
}

/** Only http(s) links reach a mail, so a bad value cannot become a javascript: or mailto: link. */
export function requireUrl(value: string | undefined, name: string): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new MailRenderError(`${name} is not a URL: ${String(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new MailRenderError(`${name} must be http(s): ${value}`);
  return url.href;
}

const revocationReasonsJa: Record<RevocationReason, string> = {
  unspecified: 'お申し出によるもの',
  keyCompromise: '秘密鍵が漏えいした、またはそのおそれがあるため',
  cACompromise: '認証局の鍵が漏えいした、またはそのおそれがあるため',
  affiliationChanged: 'ご所属（組織・部署）が変更されたため',
  superseded: '再発行により新しい証明書に置き換えられたため',
  cessationOfOperation: 'ご利用を終了されたため',
  certificateHold: 'ご利用を一時停止したため',
  privilegeWithdrawn: 'ご利用資格が取り消されたため',
  aACompromise: '属性認証局の鍵が漏えいした、またはそのおそれがあるため',
};

export function plainRevocationReason(reason: RevocationReason): string {
  const text = revocationReasonsJa[reason];
  if (!text) throw new MailRenderError(`unknown revocation reason: ${String(reason)}`);
  return text;
}

const htmlEntities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Safe both in element text and in double- or single-quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => htmlEntities[c]!);
}
