// Names shared by the extension's modules. Nothing here imports `vscode`, so the unit tests can use it.

/** Client id: also the settings section, so `haiku.trace.server` is read by the language client. */
export const CLIENT_ID = 'haiku';
export const CLIENT_NAME = 'Haiku';
/** Name of the one log output channel (server stderr, client messages and LSP traces). */
export const OUTPUT_CHANNEL = 'Haiku';
export const CONFIG_SECTION = 'haiku';

/** Settings that choose how the server starts: a change restarts it (they are not sent to it). */
export const LAUNCH_SETTINGS = ['serverCommand', 'pythonPath'] as const;
export const DEFAULT_SERVER_COMMAND: readonly string[] = ['haiku-lsp'];
/** A burst of edits to the launch settings (typing in settings.json) restarts the server once. */
export const RESTART_DELAY_MS = 1000;

/** Commands handled by the server (announced in its `executeCommandProvider`). */
export const ServerCommand = {
    generateTest: 'haiku.generateTest',
    explainStackTrace: 'haiku.explainStackTrace',
    fixDiagnostic: 'haiku.fixDiagnostic',
    showStats: 'haiku.showStats',
    refactorFile: 'haiku.refactorFile',
} as const;
export type ServerCommandId = (typeof ServerCommand)[keyof typeof ServerCommand];
export const SERVER_COMMANDS: readonly ServerCommandId[] = Object.values(ServerCommand);

/** Commands the extension itself handles. */
export const ClientCommand = {
    restartServer: 'haiku.restartServer',
    showOutput: 'haiku.showOutput',
} as const;

/** Quick-pick presets offered by "Haiku: Refactor File…"; the user may also type their own. */
export const REFACTOR_PRESETS: readonly string[] = [
    'Add type hints',
    'Split long functions',
    'Improve names',
    'Modernise idioms',
];

/**
 * Documents synced to the server: Python for completions, hover and actions; plain text and logs
 * for "Explain Stack Trace". Only `file` and `untitled` documents: never output channels (scheme
 * `output`, language `log`), which would echo the server's own log back to it.
 */
export const DOCUMENT_SELECTOR = ['python', 'plaintext', 'log'].flatMap((language) =>
    ['file', 'untitled'].map((scheme) => ({ scheme, language })),
);
