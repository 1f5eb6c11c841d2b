// Creates the LanguageClient for one run of the server.

import * as vscode from 'vscode';
import {
    CloseAction,
    CloseHandlerResult,
    DidChangeConfigurationNotification,
    ErrorAction,
    ErrorHandler,
    LanguageClient,
    LanguageClientOptions,
    RevealOutputChannelOn,
    ServerOptions,
} from 'vscode-languageclient/node';
import type { Middleware } from 'vscode-languageclient';
import { CLIENT_ID, CLIENT_NAME, CONFIG_SECTION, DOCUMENT_SELECTOR } from './constants';
import {
    findExecutable,
    LaunchCommand,
    NOT_FOUND_HINT,
    resolveServerCommand,
    toDidChangeSettings,
    toInitializationOptions,
} from './settings';

export function haikuConfiguration(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(CONFIG_SECTION);
}

export function workspaceFolderPath(): string | undefined {
    return vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
}

/** The launch command from the current settings; throws with a message for the user. */
export function currentLaunchCommand(): LaunchCommand {
    const launch = resolveServerCommand(haikuConfiguration(), workspaceFolderPath());
    if (findExecutable(launch.command) === undefined) {
        throw new Error(`could not find the haiku-lsp server \`${launch.command}\`. ${NOT_FOUND_HINT}`);
    }
    return launch;
}

/** Restarts of a server that crashed after it was running, within RESTART_WINDOW_MS, before giving up. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 3 * 60_000;

/**
 * The language client, except that it never shows notifications of its own (it forces some, e.g.
 * "couldn't create connection to server" with a stack trace): the extension shows one message with
 * the fix instead; everything still goes to the output channel.
 */
class HaikuClient extends LanguageClient {
    override error(message: string, data?: unknown, showNotification: boolean | 'force' = true): void {
        super.error(message, data, showNotification === 'force' ? false : showNotification);
    }
}

/**
 * When the connection closes: a server that never answered `initialize` (it cannot start: a Python
 * without haiku_lsp, a crash at import) is not restarted, the caller's message says why; one that ran
 * and crashed is restarted, at most MAX_RESTARTS times in RESTART_WINDOW_MS, then `gaveUp` is called.
 */
function errorHandler(initialized: () => boolean, gaveUp: () => void): ErrorHandler {
    const restarts: number[] = [];
    return {
        error: (_error, _message, count) =>
            ({ action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true }),
        closed: (): CloseHandlerResult => {
            if (!initialized()) {
                return { action: CloseAction.DoNotRestart, handled: true };
            }
            const now = Date.now();
            while (restarts.length && now - restarts[0] > RESTART_WINDOW_MS) {
                restarts.shift();
            }
            if (restarts.length >= MAX_RESTARTS) {
                gaveUp();
                return { action: CloseAction.DoNotRestart, handled: true };
            }
            restarts.push(now);
            return { action: CloseAction.Restart, handled: true };
        },
    };
}

/**
 * A client (not started) that runs `launch` over stdio. The server inherits the environment of
 * VS Code (ANTHROPIC_API_KEY and the like); its working directory is the first workspace folder.
 * `executeCommand` is the middleware for the commands the server announces.
 */
export function createServer(
    output: vscode.LogOutputChannel,
    launch: LaunchCommand,
    executeCommand: Middleware['executeCommand'],
    gaveUp: () => void,
): LanguageClient {
    const serverOptions: ServerOptions = {
        command: launch.command,
        args: launch.args,
        // No `transport`: plain stdio, no `--stdio` appended; no `env`: the process inherits ours.
        options: { cwd: workspaceFolderPath() },
    };

    // The last settings the server got, so unrelated changes (trace, launch settings) and the
    // client's own initial push (same values as initializationOptions) are not re-sent.
    let lastSent: string | undefined;
    let client: LanguageClient | undefined = undefined;

    const clientOptions: LanguageClientOptions = {
        documentSelector: DOCUMENT_SELECTOR,
        outputChannel: output,
        revealOutputChannelOn: RevealOutputChannelOn.Never,
        errorHandler: errorHandler(() => client?.initializeResult !== undefined, gaveUp),
        // Without this the client shows the bare error (e.g. "write EPIPE") as a notification of its own.
        initializationFailedHandler: (error) => {
            output.error(`initialize failed: ${error instanceof Error ? error.message : String(error)}`);
            return false;
        },
        initializationOptions: () => {
            const options = toInitializationOptions(haikuConfiguration());
            lastSent = JSON.stringify(options);
            return options;
        },
        synchronize: { configurationSection: CONFIG_SECTION },
        middleware: {
            executeCommand,
            workspace: {
                // The client would send the whole `haiku` section, launch and trace settings
                // included, which the server reports as unknown keys: send the server's keys only.
                didChangeConfiguration: async () => {
                    const settings = toDidChangeSettings(haikuConfiguration());
                    const json = JSON.stringify(settings.haiku);
                    if (json === lastSent || client === undefined) {
                        return;
                    }
                    lastSent = json;
                    await client.sendNotification(DidChangeConfigurationNotification.type, { settings });
                },
            },
        },
    };

    output.info(`Starting server: ${JSON.stringify([launch.command, ...launch.args])}`);
    client = new HaikuClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    return client;
}
