// Drives VS Code (code-server in Debian's chromium, through playwright-core) as a person would: the steps
// test_vscode.py asks for, each recorded into a JSON file it asserts on; screenshots along the way.
// Arguments come in the environment: HAIKU_CODE_SERVER (the cache folder holding playwright-core),
// HAIKU_URL, HAIKU_SHOTS (screenshot folder), HAIKU_OUT (the record), HAIKU_BROKEN_SETTINGS (the workspace
// settings written for the "cannot start" step, into HAIKU_WORKSPACE_SETTINGS), HAIKU_LINES (JSON: line numbers), HAIKU_STEPS.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require(path.join(process.env.HAIKU_CODE_SERVER, 'node_modules', 'playwright-core'));

const lines = JSON.parse(process.env.HAIKU_LINES);
const shots = process.env.HAIKU_SHOTS;
const record = { steps: {}, errors: [], screenshots: [] };
const TIMEOUT = 30_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function shot(page, name) {
    const file = path.join(shots, `${name}.png`);
    await page.screenshot({ path: file });
    record.screenshots.push(file);
}

/** The editor's visible lines, top to bottom (the DOM order is not the visual order), without ghost text. */
async function editorLines(page, name) {
    return page.$$eval(`.monaco-editor[data-uri$="${name}"] .view-lines .view-line`, (els) =>
        els.map((e) => {
            const copy = e.cloneNode(true);
            copy.querySelectorAll('.ghost-text-decoration, .ghost-text-decoration-preview').forEach((g) => g.remove());
            return [parseFloat(e.style.top), copy.textContent.replace(/\u00a0/g, ' ')];
        })
            .sort((a, b) => a[0] - b[0]).map((x) => x[1]));
}

async function goToLine(page, n) {
    await page.keyboard.press('Control+G');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: TIMEOUT });
    await input.fill(`:${n}`);
    await page.keyboard.press('Enter');
    await sleep(200);
}

async function runCommand(page, title) {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: TIMEOUT });
    await input.fill(`>${title}`);
    await sleep(300);
    for (let i = 0; i < 10; i++) {
        const focused = await page.$eval('.quick-input-list .monaco-list-row.focused .label-name', (e) => e.textContent.trim())
            .catch(() => '');
        if (focused === title) {
            await page.keyboard.press('Enter');
            return;
        }
        await page.keyboard.press('ArrowDown');
        await sleep(50);
    }
    throw new Error(`no command ${title}`);
}

async function toasts(page) {
    return page.$$eval('.notifications-toasts .notification-toast', (els) => els.map((e) => ({
        message: e.querySelector('.notification-list-item-message')?.textContent ?? '',
        buttons: [...e.querySelectorAll('.monaco-button')].map((b) => b.textContent.trim()).filter(Boolean),
    })));
}

async function statusItem(page) {
    const texts = await page.$$eval('.statusbar-item', (els) => els.map((e) => e.textContent.trim()));
    return texts.find((t) => t.startsWith('Haiku') || t.includes('Haiku $')) ?? null;
}

const steps = {
    async open(page) {
        await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
        const trust = page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Yes, I trust the authors' });
        await trust.click({ timeout: 10_000 }).catch(() => undefined);
        await page.keyboard.press('Control+P');
        await page.locator('.quick-input-widget input').fill('calc.py');
        await sleep(500);
        await page.keyboard.press('Enter');
        await page.waitForSelector('.monaco-editor[data-uri$="calc.py"] .view-lines', { timeout: TIMEOUT });
        await page.locator('.monaco-editor[data-uri$="calc.py"] .view-lines').click();
        // The server is running once the status item shows today's cost.
        const deadline = Date.now() + 60_000;
        let status = null;
        while (Date.now() < deadline && !(status && status.includes('$'))) {
            await sleep(250);
            status = await statusItem(page);
        }
        await shot(page, '1-opened');
        return { status };
    },
    async ghost(page) {
        await goToLine(page, lines.inline + 1);
        await page.keyboard.press('End');
        await page.keyboard.type('q', { delay: 50 }); // "math.s" -> "math.sq": an automatic request
        await page.waitForSelector('.ghost-text-decoration', { timeout: TIMEOUT });
        const ghost = await page.$$eval('.ghost-text-decoration', (els) => els.map((e) => e.textContent).join(''));
        await shot(page, '2-ghost-text');
        await page.keyboard.press('Tab');
        await sleep(500);
        const after = (await editorLines(page, 'calc.py'))[lines.inline];
        await shot(page, '3-accepted');
        return { ghost: ghost.replace(/\u00a0/g, ' '), after };
    },
    async cost(page) {
        // Today's cost as the status bar shows it, once the completion's usage is booked.
        const deadline = Date.now() + TIMEOUT;
        let status = await statusItem(page);
        while (Date.now() < deadline && (!status || status.endsWith('$0.00'))) {
            await sleep(250);
            status = await statusItem(page);
        }
        // A click on it opens the usage report.
        await page.locator('.statusbar-item', { hasText: 'Haiku $' }).first().click();
        const report = page.locator('.tab', { hasText: 'stats.md' });
        await report.waitFor({ state: 'visible', timeout: TIMEOUT });
        await sleep(500);
        const reportText = (await editorLines(page, 'stats.md')).join('\n');
        await shot(page, '4-usage-report');
        await page.keyboard.press('Control+W');
        await page.waitForSelector('.monaco-editor[data-uri$="calc.py"] .view-lines', { timeout: TIMEOUT });
        return { status, reportText };
    },
    async action(page) {
        await goToLine(page, lines.fix + 1);
        await page.keyboard.press('End');
        // ruff's diagnostic (published by the server) must be there before the quick fixes are listed.
        await page.waitForSelector('.monaco-editor[data-uri$="calc.py"] .squiggly-warning', { timeout: TIMEOUT });
        await page.keyboard.press('Control+.');
        await page.waitForSelector('.action-widget .monaco-list-row', { timeout: TIMEOUT });
        const titles = await page.$$eval('.action-widget .monaco-list-row', (els) => els.map((e) => e.textContent.trim()));
        await shot(page, '5-code-actions');
        let picked = null;
        for (let i = 0; i < titles.length + 1; i++) {
            const focused = await page.$eval('.action-widget .monaco-list-row.focused', (e) => e.textContent.trim()).catch(() => '');
            if (focused.includes('Fix with Haiku')) {
                picked = focused;
                break;
            }
            await page.keyboard.press('ArrowDown');
            await sleep(50);
        }
        if (picked === null) {
            await page.keyboard.press('Escape');
            return { titles, picked, text: null };
        }
        await page.keyboard.press('Enter');
        const deadline = Date.now() + TIMEOUT;
        let text = await editorLines(page, 'calc.py');
        while (Date.now() < deadline && text.some((l) => l.trim() === 'x = 1')) {
            await sleep(200);
            text = await editorLines(page, 'calc.py');
        }
        await shot(page, '6-fixed');
        return { titles, picked, text };
    },
    async broken(page) {
        // A server that cannot start: the user sets haiku.pythonPath (a machine-overridable setting: the
        // workspace's settings, not the user's, in a remote VS Code) to a Python without haiku_lsp.
        await runCommand(page, 'Notifications: Clear All Notifications'); // what came before is not counted
        await sleep(300);
        fs.mkdirSync(path.dirname(process.env.HAIKU_WORKSPACE_SETTINGS), { recursive: true });
        fs.writeFileSync(process.env.HAIKU_WORKSPACE_SETTINGS, process.env.HAIKU_BROKEN_SETTINGS);
        const deadline = Date.now() + 2 * TIMEOUT;
        let shown = [];
        while (Date.now() < deadline && !shown.some((t) => t.message.includes('did not start'))) {
            await sleep(250);
            shown = await toasts(page);
        }
        await shot(page, '7-cannot-start');
        await sleep(6000); // long enough for a restart loop to show itself
        const later = await toasts(page);
        const status = await statusItem(page);
        await shot(page, '8-cannot-start-later');
        return { shown, later, status };
    },
};

(async () => {
    fs.mkdirSync(shots, { recursive: true });
    const browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
               '--disable-component-update', '--disable-sync'],
        env: process.env,
    });
    try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
        await page.goto(process.env.HAIKU_URL, { timeout: 60_000 });
        for (const name of process.env.HAIKU_STEPS.split(',')) {
            try {
                record.steps[name] = await steps[name](page);
            } catch (err) {
                record.errors.push(`${name}: ${err && err.stack ? err.stack : err}`);
                await shot(page, `error-${name}`).catch(() => undefined);
                break;
            }
        }
    } finally {
        await browser.close();
        fs.writeFileSync(process.env.HAIKU_OUT, JSON.stringify(record, null, 1));
    }
})().catch((err) => {
    console.error(err);
    process.exit(1);
});
