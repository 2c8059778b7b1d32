// Recorded histories of every lifecycle path, replayed against today's workflow code: a change that would break
// certificates already running (they live three years) fails here. Re-record with CERTFLOW_RECORD_HISTORIES=1.
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';

const dir = path.join(__dirname, 'histories');
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];

describe('replay of recorded certificate histories', () => {
  it('has a recorded history for every path', () => {
    const paths = new Set(files.map((f) => f.split('--')[0]));
    expect(paths.size).toBeGreaterThanOrEqual(7);
  });

  it.each(files)('when %s is replayed, then today’s workflow code makes the same decisions', async (file) => {
    const history = temporal.api.history.v1.History.fromObject(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
    const workflowId = file.split('--')[1].replace(/\.json$/, '');
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows'), replayName: file }, history, workflowId);
  });
});
