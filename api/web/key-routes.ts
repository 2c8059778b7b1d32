// 鍵の取得 (POST) and Download, the same steps whether the user logged in with a password or presented a certificate.
import type { Request, Response, Router } from 'express';
import { Refusal, type KeyRetrieval, type PendingDownload } from '../../domain';
import type { Profile, RequestKind } from '../../workflows/definitions';
import { readKeyRetrievalForm, typedRequestId } from './forms';
import type { MenuEntry } from './layout';
import { downloadPage, keyRetrievalPage } from './pages';
import { pageError } from './refusals';
import { consumeFormToken, issueFormToken } from './session';

export interface KeyRoutes {
  keys: KeyRetrieval;
  /** Whose key: the logged-in user, or the presented certificate's. */
  owner(req: Request, res: Response): { profile: Profile; userId: string };
  kinds: readonly RequestKind[];
  paths(req: Request): { key: string; download: string };
  chromeOf(req: Request): { menu: MenuEntry[]; topLinks: MenuEntry[] };
}

const sendPage = (res: Response, status: number, body: string) => res.status(status).type('html').send(body);

/** Mounts POST /key, GET /download and POST /download on `router`. */
export function mountKeyRoutes(router: Router, k: KeyRoutes): void {
  /** The session's pending download, if it is this owner's. */
  const pendingOf = (req: Request, res: Response): PendingDownload | undefined => {
    const { profile, userId } = k.owner(req, res);
    const pending = req.session.pendingDownload;
    return pending && pending.userId === userId && pending.profile === profile ? pending : undefined;
  };

  router.post('/key', async (req, res) => {
    const { profile, userId } = k.owner(req, res);
    try {
      consumeFormToken(req);
      const form = readKeyRetrievalForm(req.body, userId);
      const request = await k.keys.ownedRequest(form.requestId, { profile, userId, kinds: k.kinds });
      req.session.pendingDownload = await k.keys.prepare(request, form.password);
      res.redirect(303, k.paths(req).download);
    } catch (err) {
      const answer = pageError(err);
      if (answer.status >= 500) throw err;
      const page = { chrome: k.chromeOf(req), action: k.paths(req).key, token: issueFormToken(req), requestId: typedRequestId(req.body), prefilled: false, error: answer.message };
      sendPage(res, answer.status, keyRetrievalPage(page));
    }
  });

  router.get('/download', (req, res) => {
    const pending = pendingOf(req, res);
    if (!pending) throw new Refusal('nothingToDownload', 'no key is waiting for download');
    sendPage(res, 200, downloadPage({ chrome: k.chromeOf(req), action: k.paths(req).download, token: issueFormToken(req), downloadDeadline: pending.downloadDeadline }));
  });

  router.post('/download', async (req, res) => {
    const pending = pendingOf(req, res);
    consumeFormToken(req);
    const file = await k.keys.download(pending);
    delete req.session.pendingDownload;
    await new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
    res.attachment(file.fileName).type('application/x-pkcs12').send(file.pkcs12);
    await k.keys.confirmDownload(pending!);
  });
}
