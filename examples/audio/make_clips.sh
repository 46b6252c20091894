#!/usr/bin/env bash
# Regenerates the example clips with espeak-ng and sox (Debian packages espeak-ng, sox).
# default.pcm: raw PCM16 LE 16 kHz mono; hours.wav: an 8 kHz WAV, converted by the server on load.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
say() { espeak-ng -v en-us -s 175 -w "$tmp/$1.wav" "$2"; printf '%s\n' "$2" > "$1.txt"; }
# trim leading/trailing silence, keep 100 ms of tail
trim=(silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse pad 0 0.1)
say default "Hello from convoai-llm."
sox "$tmp/default.wav" -r 16000 -c 1 -b 16 -e signed-integer -L -t raw default.pcm "${trim[@]}"
say hours "We are open from nine to five."
sox "$tmp/hours.wav" -r 8000 -c 1 -b 16 -e signed-integer hours.wav "${trim[@]}"
