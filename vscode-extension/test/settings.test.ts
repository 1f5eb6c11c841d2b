// Unit tests for the pure settings code (no VS Code needed): `npm test`.

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { DOCUMENT_SELECTOR, SERVER_COMMANDS } from '../src/constants';
import {
    ConfigurationLike,
    findExecutable,
    SERVER_SETTING_KEYS,
    resolveServerCommand,
    toDidChangeSettings,
    toInitializationOptions,
} from '../src/settings';

const root = path.resolve(__dirname, '..', '..'); // out/test -> vscode-extension
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const properties: Record<string, { default: unknown; minimum?: number; maximum?: number }> =
    manifest.contributes.configuration.properties;

/** A configuration like VS Code's: user values over the contributed defaults. */
function configuration(user: Record<string, unknown> = {}): ConfigurationLike {
    return {
        get<T>(key: string): T | undefined {
            if (key in user) {
                return user[key] as T;
            }
            return properties[`haiku.${key}`]?.default as T | undefined;
        },
    };
}

const contributedDefaults = Object.fromEntries(SERVER_SETTING_KEYS.map((k) => [k, properties[`haiku.${k}`]?.default]));

test('every server setting is contributed as haiku.<key>, and nothing else is sent', () => {
    const contributed = Object.keys(properties).map((k) => k.slice('haiku.'.length));
    const clientOnly = ['serverCommand', 'pythonPath', 'trace.server'];
    assert.deepEqual([...contributed].sort(), [...SERVER_SETTING_KEYS, ...clientOnly].sort());
    for (const key of contributed) {
        assert.ok(properties[`haiku.${key}`].default !== undefined, `haiku.${key} has a default`);
    }
});

test('initializationOptions carry every server key, flat, with the defaults', () => {
    const options = toInitializationOptions(configuration());
    assert.deepEqual(options, contributedDefaults);
    assert.equal(options.fastModel, 'claude-haiku-4-5');
    assert.equal(options.budgetUsd, 0);
    assert.ok(!('serverCommand' in options) && !('pythonPath' in options));
});

test('user values win; didChangeConfiguration wraps them in the haiku section', () => {
    const prices = { 'claude-haiku-4-5': { input: 1, output: 5 } };
    const settings = toDidChangeSettings(configuration({ debounceMs: 60, prices, ignorePatterns: ['*.env'], pythonPath: '/p' }));
    assert.deepEqual(Object.keys(settings), ['haiku']);
    assert.equal(settings.haiku.debounceMs, 60);
    assert.deepEqual(settings.haiku.prices, prices);
    assert.notEqual(settings.haiku.prices, prices, 'values are copied');
    assert.deepEqual(settings.haiku.ignorePatterns, ['*.env']);
    assert.equal(settings.haiku.inlineEnabled, true);
    assert.ok(!('pythonPath' in settings.haiku));
});

test('the server command: default, pythonPath, expansion, bad values', () => {
    assert.deepEqual(resolveServerCommand(configuration()), { command: 'haiku-lsp', args: [] });
    assert.deepEqual(resolveServerCommand(configuration({ pythonPath: ' /venv/bin/python ' })), {
        command: '/venv/bin/python',
        args: ['-m', 'haiku_lsp'],
    });
    const custom = configuration({ serverCommand: ['~/bin/haiku-lsp', '--log-file', '${workspaceFolder}/lsp.log', '-v'] });
    assert.deepEqual(resolveServerCommand(custom, '/ws', '/home/me'), {
        command: '/home/me/bin/haiku-lsp',
        args: ['--log-file', '/ws/lsp.log', '-v'],
    });
    assert.deepEqual(resolveServerCommand(configuration({ pythonPath: '${userHome}/py' }), undefined, '/h').command, '/h/py');
    for (const bad of [[], [''], 'haiku-lsp', [1]]) {
        assert.throws(() => resolveServerCommand(configuration({ serverCommand: bad })), /haiku\.serverCommand/);
    }
});

test('findExecutable searches PATH and checks explicit paths', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'haiku-ext-'));
    const exe = path.join(dir, 'haiku-lsp');
    fs.writeFileSync(exe, '#!/bin/sh\n', { mode: 0o755 });
    try {
        assert.equal(findExecutable('haiku-lsp', { PATH: ['/nonexistent', dir].join(path.delimiter) }), exe);
        assert.equal(findExecutable('haiku-lsp', { PATH: '/nonexistent' }), undefined);
        assert.equal(findExecutable(exe, { PATH: '' }), exe);
        assert.equal(findExecutable(dir, { PATH: '' }), undefined, 'a directory is not a command');
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('commands and document selector', () => {
    const declared = manifest.contributes.commands.map((c: { command: string }) => c.command);
    for (const id of SERVER_COMMANDS) {
        assert.ok(declared.includes(id), `${id} is declared in package.json`);
    }
    const languages = new Set(DOCUMENT_SELECTOR.map((s) => s.language));
    assert.deepEqual([...languages].sort(), ['log', 'plaintext', 'python']);
    assert.ok(DOCUMENT_SELECTOR.every((s) => s.scheme === 'file' || s.scheme === 'untitled'));
});

// Drift guard: the contributed defaults and bounds equal the server's, when its source is at hand.
const serverSource = path.resolve(root, '..', 'server');
const dump = `
import dataclasses, json
from haiku_lsp.settings import SETTING_KEYS, Settings
fields = {f.name: f for f in dataclasses.fields(Settings)}
print(json.dumps({k: [getattr(Settings(), v), list(fields[v].metadata.get("bounds", ()))] for k, v in SETTING_KEYS.items()}))
`;
const python = spawnSync(process.env.PYTHON ?? 'python3', ['-c', dump], {
    env: { ...process.env, PYTHONPATH: serverSource },
    encoding: 'utf8',
});
const serverSettings = python.status === 0 ? JSON.parse(python.stdout) : undefined;

test('defaults and bounds match the server (server/haiku_lsp/settings.py)', { skip: !serverSettings && 'server source or python3 not available' }, () => {
    assert.deepEqual([...SERVER_SETTING_KEYS].sort(), Object.keys(serverSettings).sort());
    for (const [key, [value, bounds]] of Object.entries<[unknown, number[]]>(serverSettings)) {
        const prop = properties[`haiku.${key}`];
        assert.deepEqual(prop.default, value, `default of haiku.${key}`);
        if (bounds.length) {
            assert.deepEqual([prop.minimum, prop.maximum], bounds, `bounds of haiku.${key}`);
        }
    }
});
