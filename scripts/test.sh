#!/usr/bin/env bash
# Run every test: lint, unit tests, notebooks re-executed with nbval (twice), the book build, the
# student edition and its leak test, the browser test of every built page, and the Binder
# environment.
# Sets up .venv on first use. Exits non-zero if any part fails.
source "$(dirname "$0")/_venv.sh"
# The cell limit is generous: with two nbval workers, each kernel's multi-threaded BLAS competes
# for the two cores, and chapter 6's training cell, about 27 s alone, took 220-260 s (and once
# more than 300 s) on a 2-core VM, before and after issue 16.
NBVAL=(--nbval --nbval-current-env --nbval-cell-timeout=900
       --nbval-sanitize-with book/nbval_sanitize.cfg -p no:cacheprovider --color=no
       -n 2 --dist loadfile)
start=$SECONDS

echo "==> ruff (lint and format)"
ruff check coursepkg tests scripts benchmarks
ruff format --check coursepkg tests scripts benchmarks
echo "==> every notebook starts with the current Colab set-up cell"
python scripts/colab_cell.py --check

echo "==> unit tests (the grading tests run submissions in the bubblewrap sandbox)"
source scripts/_bubblewrap.sh
python -m pytest -p no:cacheprovider --color=no tests

# Outputs that nbval compares must be identical on every machine. The second run proves it at no
# extra cost: it computes like another machine (another OpenBLAS kernel, NumPy's SIMD dispatch
# off; see scripts/numeric_env.py), and every notebook's claims must still hold.
echo "==> notebooks, nbval run 1 of 2 (this machine's numeric configuration)"
python -m pytest "${NBVAL[@]}" book
echo "==> notebooks, nbval run 2 of 2 (another machine's numeric configuration)"
python scripts/numeric_env.py other -- python -m pytest "${NBVAL[@]}" book

echo "==> benchmark smoke runs (check that the scripts work; their timings are not asserted)"
python benchmarks/lenet_mnist.py --quick --no-torch
python benchmarks/profile_lenet.py --batch-sizes 40 --steps 2 --warmup 1
python benchmarks/chunk_threads.py --batch-sizes 40 --chunks 32 --rounds 1 --steps 1

echo "==> book build (warnings are errors)"
rm -rf _build
build_start=$SECONDS
jupyter-book build . -W -n --keep-going
echo "==> book built in $((SECONDS - build_start)) s"

echo "==> student edition: build it and its book, and search both for every solution line"
edition_start=$SECONDS
rm -rf _build/student_edition
python scripts/build_student_edition.py --out _build/student_edition
jupyter-book build _build/student_edition -W -n --keep-going
python scripts/leak_test.py _build/student_edition --site _build/student_edition/_build/html
# The control: the same search must find the solutions in the instructor's own book (which
# shows them under "Show the solution" unless _config.yml says exercise_solutions: remove).
if grep -qE '^ *exercise_solutions: *dropdown' _config.yml; then
  python scripts/leak_test.py --expect-leaks _build/html | tail -n 1  # one line: its summary
  echo "control: the leak test finds the solutions in the instructor's book"
fi
echo "==> student edition built and searched in $((SECONDS - edition_start)) s"

echo "==> browser test: every page of the built book in Chromium (screenshots in _build/screenshots)"
source scripts/_chromium.sh
browser_start=$SECONDS
python scripts/browser_test.py --require-alt
echo "==> browser test took $((SECONDS - browser_start)) s"
# The student edition's pages that differ from the instructor's in more than their buttons: the
# exercise pages (stubs, no outputs) and the instructors' page (a note); its buttons are checked
# against its own configuration.
echo "==> browser test of the student edition's exercise pages"
browser_start=$SECONDS
edition_pages=(book/instructors.html)
for page in _build/student_edition/_build/html/book/exercises/*.html; do
  edition_pages+=("book/exercises/$(basename "$page")")
done
python scripts/browser_test.py --require-alt --root _build/student_edition \
  --html _build/student_edition/_build/html --screenshots _build/screenshots/student_edition \
  --only "${edition_pages[@]}"
echo "==> browser test of the student edition took $((SECONDS - browser_start)) s"

echo "==> Binder environment: a fresh venv from requirements.txt and runtime.txt runs a chapter"
python scripts/binder_test.py

echo "==> all tests passed in $((SECONDS - start)) s"
