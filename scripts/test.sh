#!/usr/bin/env bash
# Install everything the tests need, then lint, type-check and run the tests.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
    # The report's browser tests drive Debian's Chromium through Playwright.
    apt-get update -q
    apt-get install -y -q chromium
fi

python3 -m pip install -q -e '.[test]'

ruff check .
ruff format --check .
mypy

set +e
python3 -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "scripts/test.sh: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
