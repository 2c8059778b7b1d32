export { certificateWorkflow } from './certificate';
export { importWorkflow } from './import';
