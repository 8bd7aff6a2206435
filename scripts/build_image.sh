#!/usr/bin/env bash
# Build the code-location image from deploy/Dockerfile as <repository>:<tag>; `--push` pushes it.
# The repository is $MLPLATFORM_VAR_image_repository (the variable `mlplatform deploy` reads), the
# tag $IMAGE_TAG, else the checked-out commit, so deploy.yml deploys exactly the image it built.
set -euo pipefail
cd "$(dirname "$0")/.."

repository="${MLPLATFORM_VAR_image_repository:?set MLPLATFORM_VAR_image_repository (image repository)}"
tag="${IMAGE_TAG:-$(git rev-parse HEAD)}"
docker build -f deploy/Dockerfile -t "$repository:$tag" \
  --label "org.opencontainers.image.revision=$tag" .
if [ "${1:-}" = "--push" ]; then
  docker push "$repository:$tag"
fi
