#!/usr/bin/env bash
# Install the Debian packages videodesc needs, only those missing (quick when all are there).
# `install-apt.sh test` adds what only the tests need (a browser for the studio's tests).
set -euo pipefail
packages=(
  ffmpeg                 # probe, decode, extract audio, scdet, loudness
  espeak-ng              # Korean (and fallback) speech synthesis; test speech
  tesseract-ocr-kor      # Korean OCR model
  tesseract-ocr-eng      # English OCR model (read together with Korean)
  fonts-nanum            # Korean fonts for test images and reports
  openboard-common       # the demo video (wannaworktogether.mp4)
  pocketsphinx-testdata  # LibriVox clips with transcripts: ASR accuracy test
)
if [ "${1:-}" = "test" ]; then
  packages+=(
    chromium             # the studio's browser tests (headless, driven by Selenium)
    chromium-driver
  )
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing Debian packages: ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
