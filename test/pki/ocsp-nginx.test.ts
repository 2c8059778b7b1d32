// Debian's nginx as the portal of README's "Portal behind nginx" (OCSP variant): it verifies each client certificate
// with `ssl_ocsp on` against certflow's responder, so a revocation refuses the next handshake without any CRL reload.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import express from 'express';
import { publicationRouter } from '../../api/web/router';
import { freePort } from '../../infra/ports';
import { findNginx, runNginx, type Nginx } from '../../scripts/cluster/nginx';
import { buildProfiles, createCertificateAuthority, type CertificateAuthority } from '../../engines/pki';
import { CA_PASSPHRASE, createPkiFixture, NOW, run, subjectOf, THREE_YEARS_LATER, write, type PkiFixture } from './support';

const PASSWORD = 'Nagoya-2026!pass';

let fixture: PkiFixture;
let ca: CertificateAuthority;
let responder: http.Server;
let nginx: Nginx;
let portalPort: number;
let ocspRequests = 0;
let dir: string;

/** One HTTPS request on a new connection (a full handshake, no session resumed) with the user's PKCS#12. */
function visit(pfx: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port: portalPort, path: '/', pfx, passphrase: PASSWORD, rejectUnauthorized: false, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
  });
}

let sequence = 0;
async function userPkcs12(userId: string): Promise<{ serial: string; pfx: Buffer }> {
  const requestId = `20261126200${String(++sequence).padStart(4, '0')}`;
  const issued = await ca.issue({ requestId, ...subjectOf(userId), notBefore: NOW, notAfter: THREE_YEARS_LATER });
  return { serial: issued.serial, pfx: await ca.buildPkcs12(requestId, PASSWORD, { userId }) };
}

beforeAll(async () => {
  fixture = await createPkiFixture('ocsp-nginx');
  const app = express();
  app.use((_req, _res, next) => {
    ocspRequests++;
    next();
  });
  responder = http.createServer(app);
  await new Promise<void>((resolve) => responder.listen(0, '127.0.0.1', resolve));
  const responderUrl = `http://127.0.0.1:${(responder.address() as net.AddressInfo).port}`;
  ca = createCertificateAuthority({
    store: fixture.store,
    caDir: fixture.caDir,
    caPassphrase: CA_PASSPHRASE,
    dataKey: fixture.dataKey,
    profiles: buildProfiles({ publicUrl: responderUrl }),
  });
  await ca.ensureCas(NOW);
  app.use(publicationRouter({ ca, clock: () => new Date() }));

  dir = fs.mkdtempSync(path.join(fixture.dir, 'nginx-'));
  const caFile = write(dir, 'kdanshinnet-ca.pem', await ca.caCertificatePem('kdanshinnet'));
  const made = await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=danshin-net.example.jp',
    '-keyout', path.join(dir, 'portal-key.pem'), '-out', path.join(dir, 'portal.pem'),
  ]);
  expect(made.code).toBe(0);
  portalPort = await freePort();
  const tmp = (name: string) => path.join(dir, 'tmp', name);
  nginx = await runNginx(
    findNginx({ stream: false }).binary,
    dir,
    (user) => `${user ? `user ${user};\n` : ''}worker_processes 1;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${tmp('client_body')};
  proxy_temp_path ${tmp('proxy')};
  fastcgi_temp_path ${tmp('fastcgi')};
  uwsgi_temp_path ${tmp('uwsgi')};
  scgi_temp_path ${tmp('scgi')};
  server {
    listen 127.0.0.1:${portalPort} ssl;
    ssl_certificate     ${path.join(dir, 'portal.pem')};
    ssl_certificate_key ${path.join(dir, 'portal-key.pem')};
    ssl_client_certificate ${caFile};
    ssl_verify_client   on;
    ssl_verify_depth    1;
    ssl_ocsp            on;
    ssl_ocsp_responder  ${responderUrl}/ocsp/kdanshinnet;
    location / { return 200 "welcome $ssl_client_s_dn\\n"; }
  }
}
`,
    [portalPort],
  );
});

afterAll(async () => {
  await nginx?.stop();
  if (responder?.listening) await new Promise((resolve) => responder.close(resolve));
  await fixture?.close();
});

test('when nginx checks a client certificate by OCSP, then a good one gets in and, once revoked, the next handshake is refused with no reload', async () => {
  const user = await userPkcs12('emp401');
  const before = ocspRequests;
  const admitted = await visit(user.pfx);
  expect(admitted).toEqual({ status: 200, body: 'welcome CN=emp401,OU=div1-1-1,OU=div1-1,OU=div1,O=sampleCompany,C=JP\n' });
  expect(ocspRequests).toBeGreaterThan(before); // nginx asked certflow's responder

  await ca.revoke({ serial: user.serial, reason: 'keyCompromise', revokedAt: new Date() });
  const refused = await visit(user.pfx);
  expect(refused.status).toBe(400);
  expect(refused.body).toContain('The SSL certificate error');
  expect(fs.readFileSync(path.join(dir, 'error.log'), 'utf8')).toMatch(/client SSL certificate verify error: .*certificate revoked/);

  // Another user's good certificate still gets in: the refusal was this certificate's status, not the responder failing.
  const other = await userPkcs12('emp402');
  expect((await visit(other.pfx)).status).toBe(200);

  // With the responder gone, nginx admits nobody: no answer is no proof of good standing.
  responder.closeAllConnections();
  await new Promise((resolve) => responder.close(resolve));
  expect((await visit(other.pfx)).status).toBe(400);
});
