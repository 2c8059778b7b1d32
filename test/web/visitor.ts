// A cookie-keeping HTTP visitor for the plain listener, reading form tokens from the pages as a browser would.
export class Visitor {
  constructor(
    private readonly baseUrl: string,
    private readonly cookies = new Map<string, string>(),
    /** The client address a reverse proxy in front would name in X-Forwarded-For. */
    private readonly forwardedFor?: string,
  ) {}

  /** The same browser (one cookie jar) talking to another address: another web process behind the same proxy. */
  at(baseUrl: string): Visitor {
    return new Visitor(baseUrl, this.cookies, this.forwardedFor);
  }

  private remember(res: Response): void {
    for (const header of res.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const [name, ...value] = pair!.split('=');
      this.cookies.set(name!.trim(), value.join('='));
    }
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const proxy: Record<string, string> = this.forwardedFor ? { 'x-forwarded-for': this.forwardedFor } : {};
    return { accept: 'text/html', ...(cookie ? { cookie } : {}), ...proxy, ...extra };
  }

  async get(path: string): Promise<{ status: number; body: string; res: Response }> {
    const res = await fetch(`${this.baseUrl}${path}`, { headers: this.headers(), redirect: 'manual' });
    this.remember(res);
    return { status: res.status, body: await res.text(), res };
  }

  /** Posts the fields as a urlencoded form; a field given as an array is repeated. */
  async post(path: string, fields: Record<string, string | string[]>): Promise<{ status: number; body: string; res: Response; location?: string }> {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) form.append(k, one);
    const res = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/x-www-form-urlencoded' }),
      body: form.toString(),
      redirect: 'manual',
    });
    this.remember(res);
    const location = res.headers.get('location') ?? undefined;
    // Files (.p12, .cer) stay unread for the caller; pages and redirects are text.
    const isBinary = !/^text\//.test(res.headers.get('content-type') ?? 'text/');
    return { status: res.status, body: isBinary ? '' : await res.text(), res, location };
  }

  /** The form token of the page at path. */
  async token(path: string): Promise<string> {
    const page = await this.get(path);
    const token = /name="formToken" value="([^"]+)"/.exec(page.body)?.[1];
    if (!token) throw new Error(`no form on ${path} (status ${page.status}): ${page.body.slice(0, 300)}`);
    return token;
  }

  async login(profile: string, userId: string, password: string) {
    const formToken = await this.token(`/enroll/${profile}/login`);
    return this.post(`/enroll/${profile}/login`, { formToken, userId, password });
  }
}

/** The message in the page's error box. */
export function errorText(body: string): string | undefined {
  return /<div class="error" role="alert">([^<]*)<\/div>/.exec(body)?.[1];
}
