// Recorded histories of every lifecycle path, replayed against today's workflow code: a change that would break
// certificates already running (they live three years) fails here. CERTFLOW_RECORD_HISTORIES records them
// (test/support/recorded-histories.ts); those of each patch() beside the ones recorded before it.
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { HISTORIES_DIR, recordedHistories } from '../support/recorded-histories';

const files = recordedHistories();

describe('replay of recorded certificate histories', () => {
  it('has a recorded history for every path', () => {
    const paths = new Set(files.map((f) => path.basename(f).split('--')[0]));
    expect(paths.size).toBeGreaterThanOrEqual(7);
  });

  it.each(files)('when %s is replayed, then today’s workflow code makes the same decisions', async (file) => {
    const history = temporal.api.history.v1.History.fromObject(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
    const workflowId = file.split('--')[1].replace(/\.json$/, '');
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows'), replayName: file }, history, workflowId);
  });
});
