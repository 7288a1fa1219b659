#!/usr/bin/env bash
# Re-create static/mathjax/ from the npm registry (needs npm; run by hand when updating MathJax).
# The book loads MathJax from there (see _config.yml: html_static_path, mathjax_path), so that
# math renders offline and in the browser test. Only what the CommonHTML output of TeX needs is
# kept: the combined component, the TeX extensions it may autoload, and the woff-v2 fonts.
set -euo pipefail
VERSION="${1:-3.2.2}"  # stay on 3.x: MathJax 4 has a different layout
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "mathjax@$VERSION" >/dev/null && tar xzf "mathjax-$VERSION.tgz")
dest="$ROOT/static/mathjax"
rm -rf "$dest"
mkdir -p "$dest/es5/input/tex" "$dest/es5/output/chtml/fonts"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
cp "$tmp/package/es5/tex-mml-chtml.js" "$dest/es5/"
cp -r "$tmp/package/es5/input/tex/extensions" "$dest/es5/input/tex/"
cp -r "$tmp/package/es5/output/chtml/fonts/woff-v2" "$dest/es5/output/chtml/fonts/"
echo "$VERSION" >"$dest/VERSION"
du -sh "$dest"
