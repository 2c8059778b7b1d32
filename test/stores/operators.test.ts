// The operator store on every supported database: added enabled, read back, disabled once with who and when.
import { createOperatorStore } from '../../stores/operators';
import { forEachDatabase } from '../support/databases';

forEachDatabase('the operator store', (database) => {
  test('when operators are added and one is disabled, then each reads back with its role and state, and a second disable changes nothing', async () => {
    const operators = createOperatorStore(database.db);
    const created = new Date('2026-11-26T01:00:00.000Z');
    const disabledAt = new Date('2026-11-26T02:00:00.000Z');
    await operators.insert({ agentId: 'admin01', role: 'admin', email: 'admin01@certflow.example', createdAt: created, createdBy: 'bootstrap' });
    await operators.insert({ agentId: 'agent07', role: 'support', email: 'agent07@certflow.example', createdAt: created, createdBy: 'admin01' });

    expect(await operators.find('agent07')).toEqual({ agentId: 'agent07', role: 'support', email: 'agent07@certflow.example', enabled: true, createdAt: created, createdBy: 'admin01' });
    expect(await operators.disable('agent07', 'admin01', disabledAt)).toBe(true);
    expect(await operators.disable('agent07', 'admin01', new Date())).toBe(false);
    expect(await operators.disable('nobody', 'admin01', new Date())).toBe(false);
    expect(await operators.find('agent07')).toMatchObject({ enabled: false, disabledAt, disabledBy: 'admin01' });
    expect((await operators.list()).map((o) => [o.agentId, o.enabled])).toEqual([['admin01', true], ['agent07', false]]);
    expect(await operators.find('nobody')).toBeUndefined();
  });
});
