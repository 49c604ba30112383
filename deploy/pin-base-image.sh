#!/usr/bin/env bash
# Pin the Dockerfile's base image to a tag and the digest that tag points at now.
#
#   deploy/pin-base-image.sh python:3.11.15-slim-bookworm          # looks the digest up
#   deploy/pin-base-image.sh python:3.11.15-slim-bookworm sha256:… # a digest you checked
#
# The digest is the multi-architecture index's, so amd64 and arm64 builds both stay
# pinned. The tag stays beside it for the reader; the digest is what the build uses,
# so a re-pushed tag cannot change the image under a rebuild. Look-up needs
# `docker buildx` or `crane`; DOCKERFILE overrides the file rewritten.
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKERFILE=${DOCKERFILE:-Dockerfile}
tag=${1:?usage: $0 IMAGE:TAG [sha256:DIGEST]}
digest=${2:-}
if [[ $tag == *@* || $tag != *:* ]]; then
    echo "pin-base-image: give IMAGE:TAG without a digest, got '$tag'" >&2
    exit 2
fi
if [[ -z $digest ]]; then
    if command -v crane >/dev/null 2>&1; then
        digest=$(crane digest "$tag")
    elif docker buildx version >/dev/null 2>&1; then
        digest=$(docker buildx imagetools inspect --format '{{json .Manifest.Digest}}' "$tag" | tr -d '"')
    else
        echo "pin-base-image: need 'crane' or 'docker buildx' to look up the digest of $tag," >&2
        echo "or give the digest as the second argument" >&2
        exit 2
    fi
fi
if [[ ! $digest =~ ^sha256:[0-9a-f]{64}$ ]]; then
    echo "pin-base-image: '$digest' is not a sha256 digest" >&2
    exit 2
fi
if ! grep -q '^ARG PYTHON_IMAGE=' "$DOCKERFILE"; then
    echo "pin-base-image: no 'ARG PYTHON_IMAGE=' line in $DOCKERFILE" >&2
    exit 2
fi
sed -i.bak "s|^ARG PYTHON_IMAGE=.*|ARG PYTHON_IMAGE=${tag}@${digest}|" "$DOCKERFILE"
rm -f "$DOCKERFILE.bak"
echo "pinned $DOCKERFILE to ${tag}@${digest}"
