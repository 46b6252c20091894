#!/usr/bin/env bash
# Debian packages the server uses at run time: espeak-ng (speech). Installed when missing and we are root.
set -u
missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages: ${missing[*]}"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
    echo "WARNING: could not install ${missing[*]}; the audio endpoint's live speech will answer 503." >&2
  fi
else
  echo "WARNING: ${missing[*]} not installed (run: sudo apt-get install ${missing[*]});" \
       "the audio endpoint's live speech will answer 503." >&2
fi
exit 0
