# The pinned Vercel CLI, shared by .ci/vercel-build and .ci/vercel-dev.
# Source it, then call `vercel_cli_install ROOT`: installs the CLI under
# ROOT/target/vercel-cli/ (once; again only when the pin or the lock file
# changes) and sets VERCEL to its executable. Returns non-zero, having said
# why, on failure. The packages under it are held to
# .ci/lib/vercel-cli.package-lock.json (`npm install` with that lock file:
# not `npm ci`, which refuses a lock without the other platforms' optional
# packages, as this registry gives it): to move the pin, change
# VERCEL_VERSION, run `npm install` in an empty directory with the
# package.json below, and copy its package-lock.json here.
VERCEL_CLI_LOCK=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/vercel-cli.package-lock.json

VERCEL_VERSION=64.0.2
# vercel@64.0.2 asks for sandbox@4.4.0, which the registry does not have.
SANDBOX_VERSION=4.5.0

vercel_cli_install() {
  local root=$1
  local dir=$root/target/vercel-cli
  local package_json
  package_json=$(cat <<JSON
{
  "name": "vercel-cli-for-ci",
  "private": true,
  "description": "The Vercel CLI used by .ci/vercel-build and .ci/vercel-dev; not part of the project.",
  "dependencies": { "vercel": "$VERCEL_VERSION" },
  "overrides": { "sandbox": "$SANDBOX_VERSION" }
}
JSON
)
  VERCEL=$dir/node_modules/.bin/vercel
  local installed
  installed=$(node -p 'require(process.argv[1]).version' "$dir/node_modules/vercel/package.json" 2>/dev/null || true)
  if [[ $installed == "$VERCEL_VERSION" && -x $VERCEL && $(cat "$dir/package.json" 2>/dev/null) == "$package_json" ]] \
    && cmp -s "$VERCEL_CLI_LOCK" "$dir/.lock-installed"; then
    echo "  vercel@$VERCEL_VERSION already installed in target/vercel-cli"
    return 0
  fi
  echo "  installing vercel@$VERCEL_VERSION into target/vercel-cli (npm)"
  rm -rf "$dir"
  mkdir -p "$dir"
  printf '%s\n' "$package_json" >"$dir/package.json"
  cp "$VERCEL_CLI_LOCK" "$dir/package-lock.json"
  local log
  log=$(cd "$dir" && npm install --no-audit --no-fund --loglevel=error 2>&1) || {
    printf '%s\n' "$log"
    rm -rf "$dir"
    echo "vercel-cli: npm install vercel@$VERCEL_VERSION failed (its output is above)" >&2
    return 1
  }
  installed=$(node -p 'require(process.argv[1]).version' "$dir/node_modules/vercel/package.json" 2>/dev/null || true)
  if [[ $installed != "$VERCEL_VERSION" || ! -x $VERCEL ]]; then
    echo "vercel-cli: npm installed vercel@${installed:-nothing}, not $VERCEL_VERSION" >&2
    return 1
  fi
  cp "$VERCEL_CLI_LOCK" "$dir/.lock-installed"
}
