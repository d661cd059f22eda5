#!/bin/sh
# Front-end files mediahub serves but does not keep in git: hls.js for the admin's player, pinned,
# fetched from the npm registry at build time (make install, the Dockerfile). Without npm the admin
# shows the player's poster and a link to the stream instead of playing it.
set -eu
HLSJS_VERSION=1.7.4
target="$(dirname "$0")/../mediahub/media/static/mediahub/vendor/hls.min.js"
[ -f "$target" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: the admin's player will not load hls.js (apt-get install npm, then make install)" >&2
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "hls.js@$HLSJS_VERSION" >/dev/null && tar -xzf "hls.js-$HLSJS_VERSION.tgz" package/dist/hls.min.js)
mkdir -p "$(dirname "$target")"
cp "$work/package/dist/hls.min.js" "$target"
