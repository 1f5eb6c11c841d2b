// The `haiku.*` configuration -> what the server is sent, and how the server is started.
// Pure functions over a `get`-able configuration: no runtime import of `vscode` (tests run in Node).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SERVER_COMMAND } from './constants';

/** The part of `vscode.WorkspaceConfiguration` used here. */
export interface ConfigurationLike {
    get<T>(section: string): T | undefined;
}

/**
 * The server's setting keys (camelCase, as on the wire); each is contributed as `haiku.<key>` with
 * the server's default. Launch and trace settings are not in this list and are never sent.
 */
export const SERVER_SETTING_KEYS = [
    'provider',
    'fastModel',
    'plannerModel',
    'inlineEnabled',
    'debounceMs',
    'debounceMinMs',
    'debounceMaxMs',
    'maxPrefixTokens',
    'maxSuffixTokens',
    'maxContextTokens',
    'contextTimeBudgetMs',
    'maxLineTokens',
    'maxBlockTokens',
    'maxBlockLines',
    'inlineTimeoutMs',
    'actionTimeoutS',
    'testPython',
    'testTimeoutS',
    'osSandbox',
    'refactorConcurrency',
    'hoverExplanations',
    'hoverBudgetMs',
    'ruffDiagnostics',
    'ignorePatterns',
    'redactSecrets',
    'cacheEnabled',
    'cacheSizeMib',
    'sharedCacheUrl',
    'prices',
    'budgetUsd',
    'dailyBudgetUsd',
    'auditLog',
    'auditLogMaxMib',
] as const;
export type ServerSettingKey = (typeof SERVER_SETTING_KEYS)[number];
export type ServerSettings = Partial<Record<ServerSettingKey, unknown>>;

/**
 * Every server setting with its effective value (the user's, else the contributed default, which
 * equals the server's). All keys are sent, not only the ones the user set: the server applies a
 * `didChangeConfiguration` on top of its current values, so a setting the user removes must be
 * sent with its default to take effect. The server validates each value and reports rejects.
 */
export function toServerSettings(config: ConfigurationLike): ServerSettings {
    const out: ServerSettings = {};
    for (const key of SERVER_SETTING_KEYS) {
        const value = config.get<unknown>(key);
        if (value !== undefined && value !== null) {
            // A plain JSON copy: configuration objects are frozen proxies.
            out[key] = JSON.parse(JSON.stringify(value));
        }
    }
    return out;
}

/** `initializationOptions`: the server settings at the top level. */
export function toInitializationOptions(config: ConfigurationLike): ServerSettings {
    return toServerSettings(config);
}

/** `workspace/didChangeConfiguration` settings: the same keys wrapped in the `haiku` section. */
export function toDidChangeSettings(config: ConfigurationLike): { haiku: ServerSettings } {
    return { haiku: toServerSettings(config) };
}

export interface LaunchCommand {
    command: string;
    args: string[];
}

/** Expand a leading `~` and `${workspaceFolder}` / `${userHome}` in one argument. */
export function expandArgument(value: string, workspaceFolder?: string, home: string = os.homedir()): string {
    let out = value;
    if (out === '~' || out.startsWith('~/') || out.startsWith(`~${path.sep}`)) {
        out = home + out.slice(1);
    }
    out = out.replace(/\$\{userHome\}/g, home);
    if (workspaceFolder !== undefined) {
        out = out.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
    }
    return out;
}

/**
 * How to start the server over stdio: `[pythonPath, "-m", "haiku_lsp"]` when `haiku.pythonPath` is
 * set, else `haiku.serverCommand` (default `["haiku-lsp"]`). Throws with a message for the user
 * when the configured command is unusable.
 */
export function resolveServerCommand(
    config: ConfigurationLike,
    workspaceFolder?: string,
    home?: string,
): LaunchCommand {
    const pythonPath = (config.get<string>('pythonPath') ?? '').trim();
    if (pythonPath) {
        return { command: expandArgument(pythonPath, workspaceFolder, home), args: ['-m', 'haiku_lsp'] };
    }
    const raw = config.get<unknown>('serverCommand') ?? DEFAULT_SERVER_COMMAND;
    if (!Array.isArray(raw) || raw.length === 0 || !raw.every((a) => typeof a === 'string') || !raw[0].trim()) {
        throw new Error('haiku.serverCommand must be a non-empty array of strings, e.g. ["haiku-lsp"]');
    }
    const [command, ...args] = (raw as string[]).map((a) => expandArgument(a, workspaceFolder, home));
    return { command: command.trim(), args };
}

export const NOT_FOUND_HINT =
    'Install it with `pipx install .` (or `uv tool install .`) in a checkout of haiku-lsp, which puts `haiku-lsp` ' +
    'in ~/.local/bin, then restart VS Code; or set `haiku.pythonPath` to a Python that has it, such as the ' +
    "checkout's `.venv/bin/python`.";

/**
 * The file `command` runs, searched on PATH when it has no directory part (with PATHEXT on
 * Windows), or undefined when there is none: checked before starting, so a missing server gives
 * one actionable message rather than a spawn error.
 */
export function findExecutable(
    command: string,
    env: NodeJS.ProcessEnv = process.env,
    platform: NodeJS.Platform = process.platform,
): string | undefined {
    const isFile = (p: string) => {
        try {
            return fs.statSync(p).isFile();
        } catch {
            return false;
        }
    };
    const extensions =
        platform === 'win32' ? ['', ...(env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean)] : [''];
    const candidates = /[\\/]/.test(command)
        ? [command]
        : (env.PATH ?? env.Path ?? '')
              .split(platform === 'win32' ? ';' : path.delimiter)
              .filter(Boolean)
              .map((dir) => path.join(dir, command));
    for (const candidate of candidates) {
        for (const ext of extensions) {
            if (isFile(candidate + ext)) {
                return candidate + ext;
            }
        }
    }
    return undefined;
}
