// Unit tests of what the status bar shows for a `haiku/status` (no VS Code needed): `npm test`.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { dollars, ServerStatus, statusView } from '../src/status';

const ready: ServerStatus = {
    state: 'ready',
    message: 'Haiku ready (claude-haiku-4-5)',
    models: { fast: 'claude-haiku-4-5', planner: 'claude-sonnet-4-6' },
    today: { usd: 0.0123, inputTokens: 4000, outputTokens: 500, calls: 7 },
    session: { usd: 0.01, calls: 5 },
};

test("today's cost in the text, the rest in the tooltip, a click shows the usage", () => {
    const view = statusView(ready);
    assert.equal(view.text, '$(sparkle) Haiku $0.01');
    assert.match(view.tooltip, /Today: \$0\.01, 7 model calls, 4000 tokens in, 500 out/);
    assert.match(view.tooltip, /claude-sonnet-4-6 \(planner\)/);
    assert.deepEqual([view.severity, view.command], ['normal', 'haiku.showStats']);
});

test('errors are coloured, not modal; a click on one shows the output', () => {
    const error = statusView({ ...ready, state: 'error', message: 'the API key was rejected (401)' });
    assert.deepEqual([error.severity, error.command], ['error', 'haiku.showOutput']);
    assert.match(error.tooltip, /rejected \(401\)/);
    assert.equal(statusView({ ...ready, state: 'budget' }).severity, 'warning');
    const paused = statusView({ ...ready, state: 'rate-limited', message: 'inline completions paused', retryInS: 4.6 });
    assert.equal(paused.severity, 'warning');
    assert.match(paused.tooltip, /paused\nNext try in 5 s\n/);
    assert.equal(statusView('stopped').severity, 'error');
    assert.match(statusView({ ...ready, state: 'busy' }).text, /sync~spin/);
});

test('dollars: cents, then fractions of a cent, then whole dollars', () => {
    assert.deepEqual([dollars(0), dollars(0.004), dollars(1.5), dollars(42.4)], ['$0.00', '$0.0040', '$1.50', '$42']);
});
