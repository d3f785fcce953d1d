#!/usr/bin/env bash
# Installs code-server (VS Code in a browser) for the VS Code client's end-to-end tests, outside
# the repository, and caches it between runs. Prints the install folder on its last line.
#
# A plain `npm install code-server` fails here (measured on 4.100.3): its postinstall refuses to
# run as root without --unsafe-perm, kerberos needs libkrb5 headers, @vscode/ripgrep downloads a
# binary from GitHub (no internet besides the npm registry), and node-pty's build calls `npx`,
# which stops to ask. So: install with --ignore-scripts, rebuild the native modules with
# npm_config_yes=true, use Debian's ripgrep, and redo code-server's postinstall.sh by hand.
#
# Needs: Node 20 (code-server 4.100.3 refuses others), a C++ toolchain, libkrb5-dev, ripgrep
# (`apt-get install -y libkrb5-dev ripgrep chromium build-essential python3`).
# Folder: $CHORUS_CODE_SERVER_DIR, default ~/.cache/chorus/code-server-<version>.
set -euo pipefail

VERSION="${CHORUS_CODE_SERVER_VERSION:-4.100.3}"
DIR="${CHORUS_CODE_SERVER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chorus/code-server-$VERSION}"
STAMP="$DIR/.chorus-installed"

if [ -f "$STAMP" ] && [ -f "$DIR/node_modules/code-server/out/node/entry.js" ]; then
  echo "code-server $VERSION already installed"
  echo "$DIR"
  exit 0
fi

major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" != 20 ]; then
  echo "code-server $VERSION runs on Node 20 only; this is Node $(node --version)" >&2
  exit 1
fi
RG="$(command -v rg || true)"
if [ -z "$RG" ]; then
  echo "ripgrep is missing: apt-get install -y ripgrep" >&2
  exit 1
fi

# Build native modules against this Node's own headers (no download from nodejs.org).
NODE_PREFIX="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
if [ -f "$NODE_PREFIX/include/node/common.gypi" ]; then export npm_config_nodedir="$NODE_PREFIX"; fi
export npm_config_yes=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
rm -rf "$DIR"
mkdir -p "$DIR"
cd "$DIR"
echo '{"private":true}' > package.json

echo "installing code-server $VERSION into $DIR (scripts off)"
npm install --ignore-scripts -E "code-server@$VERSION"
npm rebuild argon2 >/dev/null 2>&1 || echo "(argon2 did not build: password auth unavailable, --auth none still works)"

# What postinstall.sh does, step by step.
cd "$DIR/node_modules/code-server/lib/vscode"
echo "installing VS Code's own dependencies"
npm install --omit=dev --ignore-scripts
# Native modules, built here (node-pty runs `npx` in its build: npm_config_yes answers it).
for m in node-pty @vscode/spdlog @parcel/watcher native-watchdog kerberos; do
  if [ -d "node_modules/$m" ]; then
    echo "building $m"
    npm rebuild "$m" --foreground-scripts=false >/dev/null
  fi
done
# ripgrep: Debian's binary instead of a download from GitHub.
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sf "$RG" node_modules/@vscode/ripgrep/bin/rg
rm -rf node_modules.asar && ln -s node_modules node_modules.asar
(cd bin/remote-cli && rm -rf code-server && ln -s code-linux.sh code-server)
(cd bin/helpers && rm -rf browser.sh && ln -s browser-linux.sh browser.sh)
cd extensions
echo "installing the built-in extensions' dependencies"
npm install --omit=dev --ignore-scripts

touch "$STAMP"
echo "code-server $VERSION installed"
echo "$DIR"
