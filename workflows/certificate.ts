// One workflow per certificate request: the certificate is an entity (certificate-entity.ts), its messages are
// delegated to it, and the main body walks the state diagram of shared/SPEC.md.
import { allHandlersFinished, condition, setHandler, type defineUpdate } from '@temporalio/workflow';
import {
  STATE_RULES,
  downloadConfirmedSignal,
  reissueUpdate,
  requestRenewalUpdate,
  retrieveKeyUpdate,
  revokeUpdate,
  statusQuery,
  type CertificateAction,
  type CertificateState,
  type CertificateStatus,
  type CertificateWorkflowInput,
} from './definitions';
import { Certificate } from './certificate-entity';
import { addDays } from './time-rules';

export async function certificateWorkflow(input: CertificateWorkflowInput): Promise<CertificateStatus> {
  const cert = new Certificate(input);

  setHandler(statusQuery, () => cert.status());
  setHandler(downloadConfirmedSignal, () => cert.confirmDownload());
  handleUpdate(cert, retrieveKeyUpdate, 'retrieveKey', () => cert.retrieveKey());
  handleUpdate(cert, requestRenewalUpdate, 'renew', ({ successorRequestId }) => cert.requestRenewal(successorRequestId));
  handleUpdate(cert, reissueUpdate, 'reissue', ({ successorRequestId }) => cert.reissue(successorRequestId));
  handleUpdate(cert, revokeUpdate, 'revoke', ({ reason }) => cert.revoke(reason));

  // registered ─► guide mails sent ─► awaiting key retrieval (an imported certificate starts in active: no mails, no key)
  await cert.record();
  cert.sendGuideMails();

  // awaiting key retrieval ⇄ key ready, until downloaded, revoked or the guide's 30 days pass
  while (STATE_RULES[cert.state].awaitingDownload) {
    if (cert.state === 'awaitingKeyRetrieval') {
      await cert.waitFor(() => cert.state !== 'awaitingKeyRetrieval' || cert.busy, cert.guideExpiresAt);
      // ──(30 days, nothing done)──► request expired
      if (cert.state === 'awaitingKeyRetrieval' && Date.now() >= cert.guideExpiresAt) await cert.expireRequest();
      continue;
    }
    // key ready (download same day)
    await cert.waitFor(() => cert.downloaded || cert.state !== 'keyReady', cert.downloadDeadline!);
    if (cert.state !== 'keyReady') continue;
    if (cert.downloaded) await cert.activate(); // ──downloaded──► active
    else await cert.withdrawUndownloadedKey(); // ──(end of day, not downloaded)──► back to awaiting
  }

  // active ──T-30──► renewal notice ──T-7──► renewal notice ──T-0──► expired (no notice once renewed or revoked)
  if (cert.state === 'active') {
    for (const daysBefore of [...input.policy.renewalNoticeDays].sort((a, b) => b - a)) {
      const noticeAt = addDays(cert.notAfter!, -daysBefore);
      if (Date.now() >= noticeAt) continue;
      await cert.waitFor(() => cert.state !== 'active', noticeAt);
      if (cert.state !== 'active') break;
      cert.sendRenewalNotice(daysBefore);
    }
  }
  if (cert.state === 'active' || cert.state === 'renewed') {
    await cert.waitFor(() => cert.state === 'revoked', cert.notAfter!);
    // A revoke handler may have run during the wait; TypeScript's narrowing cannot see that.
    if ((cert.state as CertificateState) !== 'revoked') await cert.expire();
  }

  await condition(allHandlersFinished);
  await cert.mailSent();
  return cert.status();
}

/**
 * Registers an update whose action the state table may refuse: the validator refuses it before it is accepted,
 * and the same check runs again under the lock, since an update that ran first may have changed the state.
 */
function handleUpdate<Ret, Args extends unknown[]>(
  cert: Certificate,
  update: ReturnType<typeof defineUpdate<Ret, Args>>,
  action: CertificateAction,
  run: (...args: Args) => Promise<Ret>,
): void {
  setHandler<Ret, Args, typeof update>(update, (...args: Args) => cert.exclusively(action, () => run(...args)), { validator: () => cert.assertAllowed(action) });
}
