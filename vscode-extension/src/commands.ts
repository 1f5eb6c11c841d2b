// The server's commands when run by the user (palette, menu, keybinding): the extension supplies
// the arguments the server expects and shows what comes back. Invocations that carry their own
// arguments (code actions, code lenses) pass through unchanged.

import * as vscode from 'vscode';
import type { LanguageClient, Middleware } from 'vscode-languageclient/node';
import { ClientCommand, REFACTOR_PRESETS, ServerCommand } from './constants';

type ExecuteCommand = NonNullable<Middleware['executeCommand']>;

const PROGRESS: Record<string, string> = {
    [ServerCommand.generateTest]: 'generating a test',
    [ServerCommand.explainStackTrace]: 'explaining the stack trace',
    [ServerCommand.fixDiagnostic]: 'fixing the diagnostic',
    [ServerCommand.showStats]: 'reading usage',
    [ServerCommand.refactorFile]: 'refactoring the file',
};

/** Run by the user rather than by a server-made Command: no arguments, or a menu's resource Uri. */
function isInteractive(args: unknown[]): boolean {
    return args.length === 0 || args[0] instanceof vscode.Uri;
}

/** Middleware for `workspace/executeCommand` from the client's registered server commands. */
export function executeCommandMiddleware(getClient: () => LanguageClient | undefined): ExecuteCommand {
    return async (command, args, next) => {
        const client = getClient();
        if (!client || !isInteractive(args)) {
            return next(command, args);
        }
        const filled = await interactiveArguments(command, args, client);
        if (filled === undefined) {
            return undefined; // cancelled, or nothing to act on (the user was told)
        }
        const title = `Haiku: ${PROGRESS[command] ?? command}…`;
        const result = await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Window, title },
            async () => next(command, filled),
        );
        if (typeof result === 'string' && result.trim()) {
            const text = result.trim();
            client.outputChannel.info(text);
            const [first, ...rest] = text.split('\n');
            void vscode.window
                .showInformationMessage(first, ...(rest.length ? ['Show Output'] : []))
                .then((pick) => pick && client.outputChannel.show(true));
        }
        return result;
    };
}

/** The arguments for a user-run command (see the README), or undefined to do nothing. */
async function interactiveArguments(command: string, args: unknown[], client: LanguageClient) {
    if (command === ServerCommand.showStats) {
        return [];
    }
    const editor = vscode.window.activeTextEditor;
    const target = args[0] instanceof vscode.Uri ? args[0] : editor?.document.uri;
    if (!target) {
        void vscode.window.showWarningMessage('Haiku: open a file first.');
        return undefined;
    }
    const uri = target.toString();
    const here = editor && editor.document.uri.toString() === uri ? editor : undefined;
    const c2p = client.code2ProtocolConverter;
    switch (command) {
        case ServerCommand.refactorFile: {
            const instruction = await askRefactorInstruction();
            return instruction === undefined ? undefined : [uri, instruction];
        }
        case ServerCommand.explainStackTrace:
            return [uri, here && !here.selection.isEmpty ? c2p.asRange(here.selection) : null];
        case ServerCommand.generateTest:
            return here ? [uri, c2p.asPosition(here.selection.active)] : [uri, null];
        case ServerCommand.fixDiagnostic: {
            const cursor = here?.selection.active;
            const candidates = vscode.languages
                .getDiagnostics(target)
                .filter((d) => cursor === undefined || d.range.contains(cursor) || d.range.start.line === cursor.line)
                .sort((a, b) => a.severity - b.severity);
            if (candidates.length === 0) {
                void vscode.window.showInformationMessage('Haiku: no diagnostic at the cursor.');
                return undefined;
            }
            return [uri, c2p.asDiagnostic(candidates[0])];
        }
        default:
            return args.map((a) => (a instanceof vscode.Uri ? a.toString() : a));
    }
}

/** A preset from the quick pick, or text typed into it (or into the input box "Other…" opens). */
export async function askRefactorInstruction(): Promise<string | undefined> {
    const other = 'Other…';
    const pick = vscode.window.createQuickPick();
    pick.title = 'Haiku: Refactor File';
    pick.placeholder = 'Pick a refactoring or type an instruction';
    const presets = [...REFACTOR_PRESETS, other].map((label) => ({ label }));
    pick.items = presets;
    pick.onDidChangeValue((value) => {
        const typed = value.trim();
        const exact = presets.some((p) => p.label.toLowerCase() === typed.toLowerCase());
        pick.items = typed && !exact ? [{ label: typed, description: 'custom instruction' }, ...presets] : presets;
    });
    const chosen = await new Promise<string | undefined>((resolve) => {
        pick.onDidAccept(() => resolve(pick.selectedItems[0]?.label ?? (pick.value.trim() || undefined)));
        pick.onDidHide(() => resolve(undefined));
        pick.show();
    });
    pick.dispose();
    if (chosen !== other) {
        return chosen;
    }
    const text = await vscode.window.showInputBox({
        title: 'Haiku: Refactor File',
        prompt: 'How should the file be refactored?',
        placeHolder: 'e.g. Replace the dict plumbing with dataclasses',
        validateInput: (v) => (v.trim() ? undefined : 'Type an instruction'),
    });
    return text?.trim() || undefined;
}

/** Stand-ins for server commands the running server does not provide (or while it is down). */
export function registerFallbacks(ids: readonly string[], reason: string): vscode.Disposable {
    const disposables: vscode.Disposable[] = [];
    for (const id of ids) {
        try {
            disposables.push(
                vscode.commands.registerCommand(id, async () => {
                    const pick = await vscode.window.showWarningMessage(`Haiku: ${reason}`, 'Show Output', 'Restart Server');
                    if (pick === 'Show Output') {
                        await vscode.commands.executeCommand(ClientCommand.showOutput);
                    } else if (pick === 'Restart Server') {
                        await vscode.commands.executeCommand(ClientCommand.restartServer);
                    }
                }),
            );
        } catch {
            // Already registered (by the language client): nothing to stand in for.
        }
    }
    return vscode.Disposable.from(...disposables);
}
