// Login throttling as OWASP's authentication guidance has it (issue 13, finding 5): successes are never counted, failures
// slow down the user ID they aim at (not its owner's other chances, no lockout), the owner is told once a day by mail, and
// the address limit sees each client behind the trusted proxy apart.
import { loginDelayed, MESSAGES } from '../../api/web/messages';
import { unlockUser } from '../../domain';
import { readEnrollmentMails, registerUser, startWebHarness, waitFor, type RegisteredUser, type WebHarness } from './harness';
import { errorText, Visitor } from './visitor';

const ATTACK_SUBJECT = 'ログイン失敗に関するお知らせ';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('login throttling', () => {
  let h: WebHarness;
  const users: Record<'alice' | 'bob' | 'carol' | 'dave', RegisteredUser & { password: string }> = {} as never;

  beforeAll(async () => {
    // Short waits so the test can sit them out; the address limit is the default.
    h = await startWebHarness(
      { loginThrottle: { freeFailures: 3, firstDelayMs: 3000, maxDelayMs: 4000, notifyAfter: 5 } },
      { CERTFLOW_TRUST_PROXY: 'loopback' },
    );
    for (const [name, userId] of [['alice', 'emp501'], ['bob', 'emp502'], ['carol', 'emp503'], ['dave', 'emp504']] as const) {
      const registered = await registerUser(h, userId);
      users[name] = { ...registered, password: (await readEnrollmentMails(h, registered)).password };
    }
  });

  afterAll(async () => {
    await h?.close();
  });

  /** A fresh browser at the client address `from`, as nginx in front would forward it. */
  const login = (from: string, userId: string, password: string) => new Visitor(h.httpUrl, undefined, from).login('kdanshinnet', userId, password);
  const retryAfterOf = (r: { res: Response }) => Number(r.res.headers.get('retry-after'));

  it('when 100 users behind one address log in with their right passwords, then none is throttled', async () => {
    const everyone = Object.values(users);
    const statuses: number[] = [];
    // Four browsers at a time, as a bank's staff behind one proxy would arrive.
    await Promise.all(
      Array.from({ length: 4 }, async (_, lane) => {
        for (let i = lane; i < 100; i += 4) {
          const user = everyone[i % everyone.length]!;
          statuses.push((await login('198.51.100.10', user.userId, user.password)).status);
        }
      }),
    );
    expect(statuses).toEqual(Array(100).fill(303));
  });

  it("when an attacker guesses at one user ID, then only that ID slows down: the attacker's neighbour logs in, and the victim logs in after the wait", async () => {
    const { alice, bob } = users;
    const attacker = '203.0.113.66';
    for (let i = 0; i < 4; i++) expect((await login(attacker, bob.userId, `guess-${i}-password`)).status).toBe(401);
    const slowed = await login(attacker, bob.userId, 'guess-4-password');
    expect(slowed.status).toBe(429);
    // The same address, another user ID: not slowed at all.
    expect(await login(attacker, alice.userId, alice.password)).toMatchObject({ status: 303, location: '/enroll/kdanshinnet/' });
    // The victim from elsewhere is asked to wait (the password is not even checked), then gets in: no lockout.
    const victim = await login('198.51.100.20', bob.userId, bob.password);
    expect(victim.status).toBe(429);
    expect(errorText(victim.body)).toBe(loginDelayed(retryAfterOf(victim) * 1000));
    await sleep(retryAfterOf(victim) * 1000);
    expect(await login('198.51.100.20', bob.userId, bob.password)).toMatchObject({ status: 303, location: '/enroll/kdanshinnet/' });
    // The success starts the ID afresh: a typo right after costs no wait.
    expect((await login('198.51.100.20', bob.userId, 'typo-password')).status).toBe(401);
    expect((await login('198.51.100.20', bob.userId, bob.password)).status).toBe(303);
  });

  it('when an unknown and a known user ID are guessed at alike, then every answer is alike: statuses, waits and words', async () => {
    const answers = async (from: string, userId: string) => {
      const seen: Array<[number, string | undefined, boolean]> = [];
      for (let i = 0; i < 5; i++) {
        const r = await login(from, userId, `guess-${i}-password`);
        // The seconds left may differ by one between two clocks reading them; the words around them may not.
        seen.push([r.status, errorText(r.body)?.replace(/\d+/g, 'N'), retryAfterOf(r) > 0]);
      }
      return seen;
    };
    const [unknown, known] = await Promise.all([answers('203.0.113.70', 'emp999'), answers('203.0.113.71', users.dave.userId)]);
    expect(unknown.map(([status]) => status)).toEqual([401, 401, 401, 401, 429]);
    expect(unknown[0]![1]).toBe(MESSAGES.loginFailed);
    expect(known).toEqual(unknown);
  });

  it('when support unlocks a user whose ID is slowed down, then the right password logs in at once', async () => {
    const { dave } = users;
    const statuses: number[] = [];
    while (statuses.at(-1) !== 429 && statuses.length < 6) statuses.push((await login('198.51.100.30', dave.userId, 'guess-password')).status);
    expect(statuses.at(-1)).toBe(429);
    expect((await login('198.51.100.30', dave.userId, dave.password)).status).toBe(429);
    await unlockUser(h.domain, dave.userId);
    expect(await login('198.51.100.30', dave.userId, dave.password)).toMatchObject({ status: 303, location: '/enroll/kdanshinnet/' });
  });

  it('when failures under a user ID reach the threshold and go on, then its owner is mailed once, with nothing secret in it', async () => {
    const { carol } = users;
    const attacker = '203.0.113.80';
    for (let i = 0; i < 6; i++) {
      const r = await login(attacker, carol.userId, `guess-${i}-password`);
      if (r.status === 429) {
        await sleep(retryAfterOf(r) * 1000);
        i--;
        continue;
      }
      expect(r.status).toBe(401);
    }
    const attackMails = () => h.mailbox.received.filter((m) => m.envelopeTo.includes(carol.email) && (m.parsed.subject ?? '').includes(ATTACK_SUBJECT));
    const mail = await waitFor(() => attackMails()[0], 'the mail warning of failed logins');
    await sleep(1000); // a second one would have been sent by now
    expect(attackMails()).toHaveLength(1);
    const text = mail.parsed.text ?? '';
    expect(text).toContain(`ユーザーID: ${carol.userId}`);
    expect(text).toContain('5回続けて失敗しました');
    expect(text).toContain('サポートセンターまでお電話ください');
    for (let i = 0; i < 6; i++) expect(text).not.toContain(`guess-${i}-password`);
    expect(text).not.toContain(carol.password);
    // Nobody else heard of it, and an unknown ID's failures mail no one.
    expect(h.mailbox.received.filter((m) => (m.parsed.subject ?? '').includes(ATTACK_SUBJECT))).toHaveLength(1);
  });

  it('when one address fails at many user IDs, then that address is limited, and another client behind the same proxy is not', async () => {
    const guesser = '192.0.2.77';
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) statuses.push((await login(guesser, `nobody${i}`, 'guess-password')).status);
    expect(statuses.slice(0, 30)).toEqual(Array(30).fill(401));
    expect(statuses[30]).toBe(429);
    const limited = await login(guesser, users.alice.userId, users.alice.password);
    expect(limited.status).toBe(429);
    expect(errorText(limited.body)).toBe(MESSAGES.loginRateLimited);
    expect(Number(limited.res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await login('192.0.2.78', users.alice.userId, users.alice.password)).toMatchObject({ status: 303 });
  });
});
