#!/usr/bin/env bash
# Debian packages the project uses: espeak-ng (speech, at run time), chromium and a CJK font (the
# playground's browser tests; Playwright drives /usr/bin/chromium, its own browser download is never used).
# Installed when missing and we are root. `system-deps.sh` alone: what the server needs (make setup);
# `system-deps.sh --test`: also what the tests need (make test).
set -u
missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
if [ "${1:-}" = "--test" ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # a CJK font, so the browser renders the Chinese sample documents (screenshots) instead of empty boxes
  { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; } || missing+=(fonts-wqy-microhei)
  # the HTTP layer's client tests (a Java HttpClient) and the bench's Portkey target (npm ci)
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
consequences() {
  for pkg in "$@"; do
    case "$pkg" in
      espeak-ng) echo "  espeak-ng: the audio endpoint's live speech will answer 503." ;;
      chromium) echo "  chromium: the playground browser tests will be skipped." ;;
      fonts-wqy-microhei) echo "  fonts-wqy-microhei: Chinese text shows as boxes in browser screenshots." ;;
      openjdk-17-jdk-headless) echo "  java: the Java HttpClient (h2c) tests will be skipped." ;;
      npm) echo "  npm: the Portkey bench target and its test will be skipped." ;;
    esac
  done
}
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages: ${missing[*]}"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
    echo "WARNING: could not install ${missing[*]}:" >&2
    consequences "${missing[@]}" >&2
  fi
else
  echo "WARNING: ${missing[*]} not installed (run: sudo apt-get install ${missing[*]}):" >&2
  consequences "${missing[@]}" >&2
fi
exit 0
