// Activation: one output channel, one language client at a time, restarts, stand-in commands.

import * as vscode from 'vscode';
import { LanguageClient, State } from 'vscode-languageclient/node';
import { ClientCommand, CONFIG_SECTION, LAUNCH_SETTINGS, OUTPUT_CHANNEL, RESTART_DELAY_MS, SERVER_COMMANDS } from './constants';
import { executeCommandMiddleware, registerFallbacks } from './commands';
import { NOT_FOUND_HINT } from './settings';
import { createServer, currentLaunchCommand } from './server';
import { ServerStatus, STATUS_METHOD } from './status';
import { StatusBar } from './statusBar';

/** How long activation waits for the server before returning (the start goes on after that). */
const ACTIVATION_WAIT_MS = 10_000;

let client: LanguageClient | undefined;
let fallbacks: vscode.Disposable | undefined;
let queue: Promise<void> = Promise.resolve();
let restartTimer: NodeJS.Timeout | undefined;
let deactivated = false;
let statusBar: StatusBar | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    deactivated = false;
    const output = vscode.window.createOutputChannel(OUTPUT_CHANNEL, { log: true });
    statusBar = new StatusBar();
    context.subscriptions.push(
        output,
        statusBar,
        vscode.commands.registerCommand(ClientCommand.restartServer, () => restart(output)),
        vscode.commands.registerCommand(ClientCommand.showOutput, () => output.show()),
        vscode.workspace.onDidChangeConfiguration((event) => {
            if (LAUNCH_SETTINGS.some((key) => event.affectsConfiguration(`${CONFIG_SECTION}.${key}`))) {
                clearTimeout(restartTimer);
                restartTimer = setTimeout(() => void restart(output), RESTART_DELAY_MS);
            }
        }),
        { dispose: () => setFallbacks(undefined) },
    );
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, ACTIVATION_WAIT_MS).unref());
    await Promise.race([restart(output), timeout]);
}

export function deactivate(): Thenable<void> | undefined {
    deactivated = true;
    clearTimeout(restartTimer);
    setFallbacks(undefined);
    const running = client;
    client = undefined;
    return running?.needsStop() ? running.stop() : undefined;
}

/** Stop the running server (if any) and start one with the current settings; calls queue up. */
function restart(output: vscode.LogOutputChannel): Promise<void> {
    queue = queue.then(() => startServer(output)).catch((err) => output.error(`Restart failed: ${err}`));
    return queue;
}

function setFallbacks(ids: readonly string[] | undefined, reason = ''): void {
    fallbacks?.dispose();
    fallbacks = ids?.length ? registerFallbacks(ids, reason) : undefined;
}

async function startServer(output: vscode.LogOutputChannel): Promise<void> {
    clearTimeout(restartTimer);
    const previous = client;
    client = undefined; // from here on, events of the previous client are ignored
    setFallbacks(undefined);
    if (previous) {
        output.info('Stopping server');
        await previous.dispose().catch((err) => output.warn(`Stopping the server failed: ${err}`));
    }
    if (deactivated) {
        return;
    }

    const notRunning = 'the haiku-lsp server is not running; see the Haiku output.';
    let next: LanguageClient;
    let launched: string;
    try {
        const launch = currentLaunchCommand();
        launched = [launch.command, ...launch.args].join(' ');
        next = createServer(output, launch, executeCommandMiddleware(() => client), () =>
            void showLaunchError(`the haiku-lsp server (\`${launched}\`) keeps crashing; it was not restarted again.`));
    } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        output.error(message);
        setFallbacks(SERVER_COMMANDS, notRunning);
        statusBar?.show('stopped');
        void showLaunchError(message);
        return;
    }
    client = next;
    next.onNotification(STATUS_METHOD, (status: ServerStatus) => {
        if (client === next) {
            statusBar?.show(status);
        }
    });
    // One message when this server fails to start, whichever comes first: the start's rejection, or the
    // client stopping before `initialize` was answered (a process that exits at once may never reject it).
    let startFailureShown = false;
    let stoppedEarly: () => void = () => undefined;
    const stopped = new Promise<never>((_, reject) => {
        stoppedEarly = () => reject(new Error('the server stopped before it answered initialize'));
    });
    const startFailed = () => {
        stoppedEarly(); // so a restart queued behind this start does not wait for it forever
        if (startFailureShown || client !== next) {
            return;
        }
        startFailureShown = true;
        setFallbacks(SERVER_COMMANDS, notRunning);
        statusBar?.show('stopped');
        void showLaunchError(`the haiku-lsp server (\`${launched}\`) did not start; the output says why. ${NOT_FOUND_HINT}`);
    };
    next.onDidChangeState(({ newState }) => {
        if (client !== next) {
            return;
        }
        statusBar?.show(newState === State.Running ? 'starting' : newState === State.Starting ? 'starting' : 'stopped');
        if (newState === State.Starting) {
            setFallbacks(undefined); // the client registers the server's commands while starting
        } else if (newState === State.Running) {
            const announced = new Set(next.initializeResult?.capabilities.executeCommandProvider?.commands ?? []);
            const missing = SERVER_COMMANDS.filter((id) => !announced.has(id));
            if (missing.length) {
                output.info(`The server does not provide: ${missing.join(', ')}`);
            }
            setFallbacks(missing, 'this haiku-lsp server does not provide this command; update haiku-lsp.');
        } else {
            setFallbacks(SERVER_COMMANDS, notRunning);
            if (next.initializeResult === undefined) {
                startFailed();
            }
        }
    });

    const starting = next.start();
    starting.catch(() => undefined); // awaited below, maybe after `stopped` won the race
    stopped.catch(() => undefined);
    try {
        await Promise.race([starting, stopped]);
    } catch (err) {
        // The client shows nothing itself (server.ts): one message with the fix, the details in the output.
        output.error(`The server did not start: ${err instanceof Error ? err.message : err}`);
        startFailed();
        if (client === next) {
            client = undefined;
        }
        await next.dispose().catch(() => undefined);
    }
}

async function showLaunchError(message: string): Promise<void> {
    const pick = await vscode.window.showErrorMessage(`Haiku: ${message}`, 'Open Settings', 'Show Output');
    if (pick === 'Open Settings') {
        await vscode.commands.executeCommand('workbench.action.openSettings', '@ext:haiku-lsp.haiku-lsp');
    } else if (pick === 'Show Output') {
        await vscode.commands.executeCommand(ClientCommand.showOutput);
    }
}
