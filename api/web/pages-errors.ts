// Any error as a Japanese page: our HttpErrors carry their message; others get one by status, never a stack trace.
import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../../infra/logger';
import { HttpError, retryAfter } from '../errors';
import { MESSAGES } from './messages';
import { pageError } from './refusals';
import { messagePage } from './pages';
import type { MenuEntry } from './layout';

const JAPANESE = /[\u3040-\u30ff\u4e00-\u9fff]/;

export function japaneseMessage(err: HttpError): string {
  if (JAPANESE.test(err.message)) return err.message;
  if (err.status === 404) return MESSAGES.notFound;
  if (err.status === 401) return MESSAGES.sessionInvalid;
  if (err.status >= 500) return MESSAGES.internal;
  return MESSAGES.badRequest;
}

const TITLES: Record<number, string> = { 401: 'セッションが無効です', 404: 'ページが見つかりません', 429: 'しばらくお待ちください', 503: 'ただいまご利用いただけません' };

/** For createApp's renderErrorPage hook: the pages of certflow's users look the same wherever an error ends up. */
export function renderErrorPage(err: HttpError): string {
  return messagePage({ title: TITLES[err.status] ?? 'エラー', message: japaneseMessage(err) });
}

/** The error handler of the user's pages: always HTML, with the menu of the part of the site the user was in. */
export function pageErrorHandler(
  logger: Logger | undefined,
  chrome?: (params: Record<string, string>) => { menu: MenuEntry[]; topLinks: MenuEntry[] } | undefined,
  answers?: Parameters<typeof pageError>[1],
): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpError = pageError(err, answers);
    if (httpError.status >= 500) logger?.error({ err, path: req.path }, 'page failed');
    else logger?.info({ status: httpError.status, code: httpError.code, path: req.path }, 'page refused');
    if (res.headersSent) return;
    res
      .status(httpError.status)
      .set(retryAfter(httpError))
      .type('html')
      .send(messagePage({ title: TITLES[httpError.status] ?? 'エラー', message: japaneseMessage(httpError), chrome: chrome?.(req.params as Record<string, string>) }));
  };
}
