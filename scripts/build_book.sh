#!/usr/bin/env bash
# Build the book into _build/html (sets up .venv on first use). Warnings are errors.
source "$(dirname "$0")/_venv.sh"
echo "==> building the book"
start=$SECONDS
jupyter-book build . -W -n --keep-going
echo "==> built in $((SECONDS - start)) s: open $ROOT/_build/html/index.html"
