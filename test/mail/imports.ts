// The mail module as tests import it, plus the default templates for start-up checks.
export * from '../../engines/mail';
export { templates } from '../../engines/mail/templates';
