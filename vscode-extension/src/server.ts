// Creates the LanguageClient for one run of the server.

import * as vscode from 'vscode';
import {
    DidChangeConfigurationNotification,
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

/**
 * A client (not started) that runs `launch` over stdio. The server inherits the environment of
 * VS Code (ANTHROPIC_API_KEY and the like); its working directory is the first workspace folder.
 * `executeCommand` is the middleware for the commands the server announces.
 */
export function createServer(
    output: vscode.LogOutputChannel,
    launch: LaunchCommand,
    executeCommand: Middleware['executeCommand'],
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
    client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    return client;
}
