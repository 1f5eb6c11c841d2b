// The server's `haiku/status` notification, and what the status bar shows for it. No `vscode` import:
// the unit tests use it.

export const STATUS_METHOD = 'haiku/status';

export type ServerState = 'ready' | 'offline' | 'busy' | 'rate-limited' | 'error' | 'budget';

export interface ServerStatus {
    state: ServerState;
    message: string;
    /** While upstream failures pause inline completions: seconds until the next try (else 0). */
    retryInS?: number;
    models: { fast: string; planner: string };
    today: { usd: number; inputTokens: number; outputTokens: number; calls: number };
    session: { usd: number; calls: number };
}

/** What the client itself knows when the server says nothing (not started, or not running). */
export type ClientState = 'starting' | 'stopped';

export interface StatusView {
    text: string;
    tooltip: string;
    /** Shown with the error (or warning) colours of the status bar: never a modal pop-up. */
    severity: 'normal' | 'warning' | 'error';
    /** The command a click runs. */
    command: 'haiku.showStats' | 'haiku.showOutput';
}

const ICONS: Record<ServerState, string> = {
    ready: '$(sparkle)',
    offline: '$(circle-slash)',
    busy: '$(sync~spin)',
    'rate-limited': '$(watch)',
    error: '$(error)',
    budget: '$(warning)',
};

export function dollars(usd: number): string {
    return usd < 10 ? `$${usd.toFixed(usd > 0 && usd < 0.01 ? 4 : 2)}` : `$${usd.toFixed(0)}`;
}

export function statusView(status: ServerStatus | ClientState): StatusView {
    if (status === 'starting') {
        return { text: '$(sync~spin) Haiku', tooltip: 'Haiku: starting the server', severity: 'normal',
                 command: 'haiku.showOutput' };
    }
    if (status === 'stopped') {
        return { text: '$(error) Haiku', tooltip: 'Haiku: the server is not running. Click for the output.',
                 severity: 'error', command: 'haiku.showOutput' };
    }
    const { today } = status;
    const tooltip = [
        `Haiku: ${status.message}`,
        ...(status.retryInS ? [`Next try in ${Math.round(status.retryInS)} s`] : []),
        `Today: ${dollars(today.usd)}, ${today.calls} model calls, ${today.inputTokens} tokens in, ${today.outputTokens} out`,
        `Models: ${status.models.fast} (fast), ${status.models.planner} (planner)`,
        'Click for usage and cost.',
    ].join('\n');
    const severity = status.state === 'error' ? 'error'
        : status.state === 'budget' || status.state === 'rate-limited' ? 'warning' : 'normal';
    return { text: `${ICONS[status.state] ?? '$(sparkle)'} Haiku ${dollars(today.usd)}`, tooltip, severity,
             command: status.state === 'error' ? 'haiku.showOutput' : 'haiku.showStats' };
}
