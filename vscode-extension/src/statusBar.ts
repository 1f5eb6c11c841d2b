// The status bar item: the server's state and today's cost; a click shows the usage (or the output).

import * as vscode from 'vscode';
import { ClientState, ServerStatus, statusView } from './status';

export class StatusBar implements vscode.Disposable {
    private readonly item = vscode.window.createStatusBarItem('haiku.status', vscode.StatusBarAlignment.Right, 100);

    constructor() {
        this.item.name = 'Haiku';
        this.show('starting');
        this.item.show();
    }

    show(status: ServerStatus | ClientState): void {
        const view = statusView(status);
        this.item.text = view.text;
        this.item.tooltip = view.tooltip;
        this.item.command = view.command;
        this.item.backgroundColor = view.severity === 'normal' ? undefined
            : new vscode.ThemeColor(view.severity === 'error' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground');
    }

    dispose(): void {
        this.item.dispose();
    }
}
