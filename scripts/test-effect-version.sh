#!/usr/bin/env bash
# Runs the type-check and the test suite (or the test files given) against another effect
# version, in a temporary copy of the committed tree with effect forced by npm `overrides`:
#
#   scripts/test-effect-version.sh 3.12.0
#   scripts/test-effect-version.sh 3.19.19 test/Process test/Node/dist.test.ts
#
# Used to find the lowest effect version Rain's peerDependencies may claim (see CHANGELOG).
# @effect/vitest declares a newer effect as its peer, hence --legacy-peer-deps.
set -euo pipefail
version=${1:?usage: $0 EFFECT_VERSION [test files...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/rain-effect-$version-XXXXXX")
trap 'rm -rf "$dir"' EXIT
git -C "$root" archive HEAD | tar -x -C "$dir"
cd "$dir"
node -e '
const fs = require("fs"); const p = JSON.parse(fs.readFileSync("package.json", "utf8"))
p.devDependencies.effect = process.argv[1]; p.overrides = { effect: process.argv[1] }
fs.writeFileSync("package.json", JSON.stringify(p, null, 2))' "$version"
rm -f package-lock.json
npm install --prefer-offline --no-audit --no-fund --legacy-peer-deps >/dev/null
echo "effect $(node -p 'require("effect/package.json").version')"
node_modules/.bin/tsc --noEmit
node_modules/.bin/vitest run "$@"
