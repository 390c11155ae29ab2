# Sourced by .ci/run before the tests: installs what the dashboard's real-browser test needs.
#   source .ci/browser.sh
# Debian's `chromium` (apt; needs root) and `playwright-core` from npm in tests/browser (npm ci
# from the committed package-lock.json; no browser download: the test drives /usr/bin/chromium).
# Exports CHROMIUM and AUTOPEFT_REQUIRE_BROWSER=1, so tests/test_dashboard_browser.py fails
# instead of skipping when something is still missing.

autopeft_browser_setup() {
    local root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    local missing=()
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v node >/dev/null 2>&1 || missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
    if [ "${#missing[@]}" -gt 0 ]; then
        if [ "$(id -u)" = 0 ]; then
            echo "browser: installing ${missing[*]} from Debian's packages" >&2
            DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
                echo "browser: apt-get install ${missing[*]} failed; the browser test will fail" >&2
        else
            echo "browser: ${missing[*]} not installed and we are not root; the browser test will fail" >&2
        fi
    fi
    if [ ! -d "$root/tests/browser/node_modules/playwright-core" ] && command -v npm >/dev/null 2>&1; then
        echo "browser: npm ci in tests/browser (playwright-core)" >&2
        (cd "$root/tests/browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
            echo "browser: npm ci failed; the browser test will fail" >&2
    fi
    export CHROMIUM="${CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}"
    export AUTOPEFT_REQUIRE_BROWSER=1
}

autopeft_browser_setup
