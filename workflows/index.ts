export { certificateWorkflow } from './certificate';
