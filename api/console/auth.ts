// Who may open the console: a valid, unrevoked certificate of the operators CA whose operator is enabled. The role
// comes from the operators table; anything else gets a Japanese refusal page with 403 and no console content.
import type { TLSSocket } from 'node:tls';
import type { RequestHandler } from 'express';
import { operatorFor, type CertificateRefusal, type ClientCertificateCheck, type DomainDeps } from '../../domain';
import { OPERATORS_PROFILE } from '../../workflows/definitions';
import { errorBox } from '../web/layout';
import { html } from '../web/html';
import { sendConsolePage } from './kit';

export type ConsoleRefusal = CertificateRefusal | 'unknownOperator' | 'disabledOperator';

export const CONSOLE_REFUSALS_JA: Record<ConsoleRefusal, string> = {
  none: '運用者証明書が提示されていません。運用者証明書をブラウザに取り込んでからアクセスしてください。',
  foreign: 'この証明書では運用コンソールを利用できません（運用者用の証明書ではありません）。',
  revoked: 'この運用者証明書は失効しています。運用コンソールは利用できません。',
  expired: 'この運用者証明書は有効期限が切れています。',
  notYetValid: 'この運用者証明書はまだ有効期間が始まっていません。',
  unknownOperator: 'この証明書の運用者は登録されていません。',
  disabledOperator: 'この運用者は無効化されています。運用コンソールは利用できません。',
};

/** Sets res.locals.operator (an Actor) or answers 403 with the reason; read on every request, as revocation is. */
export function authenticateOperator(deps: Pick<DomainDeps, 'stores'>, check: ClientCertificateCheck): RequestHandler {
  return async (req, res, next) => {
    const verdict = await check(req.socket as TLSSocket, OPERATORS_PROFILE, 'console');
    const refusal: ConsoleRefusal | undefined = verdict.ok ? undefined : verdict.refusal;
    const operator = verdict.ok ? await operatorFor(deps, verdict.certificate) : undefined;
    const reason = refusal ?? (operator && !operator.ok ? operator.refusal : undefined);
    if (reason || !operator?.ok) {
      res.set('Cache-Control', 'no-store');
      return sendConsolePage(res, 403, '運用コンソールを利用できません', html`${errorBox(CONSOLE_REFUSALS_JA[reason ?? 'unknownOperator'])}
<p class="note">運用者証明書については管理者にお問い合わせください。</p>`);
    }
    res.locals.operator = operator.actor;
    next();
  };
}
