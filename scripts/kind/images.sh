# shellcheck shell=bash
# Images on kind, sourced by scripts/kind/up.sh: loading them into the node, and the helm
# values that make the release run exactly what was loaded.

# kind_load_image CLUSTER IMAGE: `kind load docker-image`, or, where that fails (Docker's
# containerd image store: "content digest ... not found", kind issue 3795), the same image
# through an archive: `docker save` then `kind load image-archive`.
kind_load_image() {
  local cluster=$1 image=$2 archive
  if kind load docker-image "$image" --name "$cluster" >/dev/null 2>&1; then
    echo "loaded $image"
    return 0
  fi
  archive=$(mktemp "${TMPDIR:-/tmp}/kind-image.XXXXXX.tar")
  docker save "$image" -o "$archive" || { rm -f "$archive"; die "docker save $image failed"; }
  if ! kind load image-archive "$archive" --name "$cluster" >/dev/null; then
    rm -f "$archive"
    die "could not load $image into kind cluster '$cluster' (kind load docker-image and image-archive both failed)"
  fi
  rm -f "$archive"
  echo "loaded $image (through an archive: kind load docker-image failed)"
}

# image_values TAG: helm arguments for the images built with TAG: each pipeline image and
# the MovieLens API at that tag, and the API's Deployment annotated with the image's id, so
# that a rebuild under the same tag rolls it (the task pods start from the loaded image anyway).
image_values() {
  local tag=$1 step id
  for step in fetch rank load; do
    printf '%s\n' --set-string "pipeline.images.$step.tag=$tag"
  done
  id=$(docker image inspect --format '{{.Id}}' "movielens-api:$tag") || die "no image movielens-api:$tag: build it first"
  printf '%s\n' --set-string "movielensApi.image.tag=$tag" \
    --set-string "movielensApi.podAnnotations.movielens-platform/image-id=${id#sha256:}"
}
