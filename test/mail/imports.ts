// The mail module as tests import it, plus the default templates for start-up checks.
export * from '../../activities/mail';
export { templates } from '../../activities/mail/templates';
