// Compiles every mail's mjml once at start-up; rendering a mail is then only escaping values into the compiled HTML.
import mjml2html from 'mjml';
import type { MailKind, RenderParamsByKind, ServiceIdentity, SupportContact } from './kinds';
import { MAIL_KINDS } from './kinds';
import { commonValues, layoutMjml, layoutText, templates as defaultTemplates, type MailTemplates } from './templates';
import { escapeHtml, MailRenderError } from './values';

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

export interface RenderContext {
  service: ServiceIdentity;
  support: SupportContact;
}

export interface MailRenderer {
  render<K extends MailKind>(kind: K, params: RenderParamsByKind[K], context: RenderContext): RenderedMail;
}

/** A template string split once into literal text and `{{name}}` slots. */
class CompiledText {
  private readonly parts: string[];

  constructor(source: string) {
    // split with a capture group alternates literal, name, literal, …
    this.parts = source.split(/\{\{(\w+)\}\}/);
  }

  get names(): string[] {
    return this.parts.filter((_, i) => i % 2 === 1);
  }

  fill(values: Record<string, string>, escape: (v: string) => string, where: string): string {
    let out = '';
    for (let i = 0; i < this.parts.length; i++) {
      out += i % 2 === 0 ? this.parts[i] : escape(requireValue(values, this.parts[i]!, where));
    }
    return out;
  }
}

function requireValue(values: Record<string, string>, name: string, where: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value.trim() === '') throw new MailRenderError(`${where}: missing value for {{${name}}}`);
  // No value legitimately holds a control character; refusing them keeps headers and text unforgeable.
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new MailRenderError(`${where}: control character in {{${name}}}`);
  return value;
}

interface CompiledMail {
  subject: CompiledText;
  html: CompiledText;
  text: CompiledText;
}

const asIs = (v: string): string => v;

export async function createMailRenderer(templates: MailTemplates = defaultTemplates): Promise<MailRenderer> {
  const compiled = new Map<MailKind, CompiledMail>();
  await Promise.all(
    MAIL_KINDS.map(async (kind) => {
      const t = templates[kind];
      const result = await mjml2html(layoutMjml(t.addressee, t.mjml), { validationLevel: 'strict', keepComments: false }).catch(
        (err: { message?: string; errors?: Array<{ formattedMessage: string }> }) => ({
          html: '',
          errors: err.errors ?? [{ formattedMessage: String(err.message) }],
        }),
      );
      if (result.errors.length > 0) {
        throw new Error(`mail template ${kind} is invalid mjml: ${result.errors.map((e) => e.formattedMessage).join('; ')}`);
      }
      compiled.set(kind, {
        subject: new CompiledText(`{{subjectPrefix}}${t.subject}`),
        html: new CompiledText(result.html),
        text: new CompiledText(layoutText(t.addressee, t.text)),
      });
    }),
  );

  return {
    render(kind, params, context) {
      const mail = compiled.get(kind);
      const template = templates[kind] as MailTemplates[typeof kind] | undefined;
      if (!mail || !template) throw new MailRenderError(`unknown mail kind: ${String(kind)}`);
      if (!params || typeof params !== 'object') throw new MailRenderError(`${kind}: parameters are missing`);
      const values = {
        ...commonValues(context.service, context.support),
        ...(template.values as (p: typeof params) => Record<string, string>)(params),
      };
      const subject = mail.subject.fill(values, asIs, `${kind} subject`);
      const withSubject = { ...values, subject };
      return {
        subject,
        html: mail.html.fill(withSubject, escapeHtml, `${kind} html`),
        text: mail.text.fill(withSubject, asIs, `${kind} text`),
      };
    },
  };
}
