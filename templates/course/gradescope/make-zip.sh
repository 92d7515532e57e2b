#!/usr/bin/env bash
# Builds the Gradescope autograder of one lab: `bash gradescope/make-zip.sh labs/mylab` writes
# autograder-mylab.zip. The zip holds Gradescope's scripts (this folder, as netlab-run ships them in
# node_modules/netlab-run/docs/gradescope/), this repository's package.json and package-lock.json
# (setup.sh installs netlab-run from them with npm ci) and the lab as lab/.
set -euo pipefail
cd "$(dirname "$0")/.."
lab=${1:?usage: bash gradescope/make-zip.sh labs/<lab>}
lab=${lab%/}
[ -f "$lab/lab.yaml" ] || { echo "make-zip: no $lab/lab.yaml" >&2; exit 2; }
[ -f package-lock.json ] || { echo "make-zip: no package-lock.json: run npm install first" >&2; exit 2; }
command -v zip >/dev/null || { echo "make-zip: no zip command (apt-get install zip)" >&2; exit 2; }
out=$PWD/autograder-$(basename "$lab").zip
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -p gradescope/* "$tmp/"
rm "$tmp/make-zip.sh"
cp package.json package-lock.json "$tmp/"
cp -r "$lab" "$tmp/lab"
rm -f "$out"
(cd "$tmp" && zip -qr "$out" .)
echo "make-zip: $out"
