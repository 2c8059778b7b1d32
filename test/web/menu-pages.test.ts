// What a newcomer tripped over on the pages: the top page's list and the side menu agree; no page asks for a button it lacks.
import { renewalApplyPage, renewalTopPage } from '../../api/tls/pages';
import { enrollmentMenu, enrollmentTopPage, renewalMenu } from '../../api/web/pages';
import type { PresentedCertificate } from '../../domain';

const certificate: PresentedCertificate = {
  serial: '01',
  profile: 'kdanshinnet',
  userId: 'emp002',
  requestId: '202611250000001',
  commonName: 'emp002',
  organizationalUnits: ['div1'],
  organization: 'sampleCompany',
  country: 'JP',
  subject: 'CN=emp002, OU=div1, O=sampleCompany, C=JP',
  notBefore: new Date('2026-11-25T00:00:00Z'),
  notAfter: new Date('2029-11-25T00:00:00Z'),
};

const linksOf = (page: string, part: string) => [...(part === 'body' ? page.split('<dl>')[1] ?? '' : page).matchAll(/<a href="([^"]+)">/g)].map((m) => m[1]);

describe('menus and pages', () => {
  it('when the enrollment top page is shown, then it lists every entry of the side menu, お知らせ included', () => {
    const page = enrollmentTopPage({ profile: 'kdanshinnet', userId: 'emp002' });
    const menuLinks = enrollmentMenu('kdanshinnet').menu.filter((e) => e.href).map((e) => e.href);
    expect(linksOf(page, 'body')).toEqual(menuLinks);
    expect(page.split('<dl>')[1]).toContain('お知らせ');
  });

  it('when the renewal top page is shown, then it lists every entry of its side menu', () => {
    const page = renewalTopPage({ profile: 'kdanshinnet', serviceName: '団信ネット（3社共用）', certificate });
    expect(linksOf(page, 'body')).toEqual(renewalMenu('kdanshinnet').menu.filter((e) => e.href).map((e) => e.href));
  });

  it('when the renewal confirmation is refused (before T-30), then it does not ask for the Submit button it does not show', () => {
    const refused = renewalApplyPage({ profile: 'kdanshinnet', certificate, subscriberId: 'S-1', email: 'a@example.jp', error: '更新申請は 2029年10月26日 から可能です。' });
    expect(refused).not.toContain('<button type="submit">Submit</button>');
    expect(refused).not.toContain('「Submit」ボタンをクリック');
    const open = renewalApplyPage({ profile: 'kdanshinnet', certificate, subscriberId: 'S-1', email: 'a@example.jp', token: 't' });
    expect(open).toContain('<button type="submit">Submit</button>');
    expect(open).toContain('「Submit」ボタンをクリック');
  });
});
