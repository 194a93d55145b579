#!/usr/bin/env bash
# Promotes staging's filter to production: writes production's pin
# (manifests/overlays/production/release.env: REPOSITORY, SHA256) from
# staging's, keeping PUBLISHED=true. Run it on a branch and open a pull
# request: production changes when that pull request merges, and only then.
#
#   git switch -c promote-filter
#   make promote            # or scripts/promote.sh
#   git commit -am "production: promote the filter from staging" && git push
#
# MESHPOLICY_OVERLAYS overrides the overlays directory (tests use a copy).
set -euo pipefail

cd "$(dirname "$0")/.."
OVERLAYS="${MESHPOLICY_OVERLAYS:-manifests/overlays}"
STAGING="$OVERLAYS/staging/release.env"
PRODUCTION="$OVERLAYS/production/release.env"

value() {
  local key=$1 file=$2 line
  line=$(grep -E "^$key=" "$file" | tail -n 1) || { echo "promote.sh: $file has no $key=" >&2; exit 1; }
  echo "${line#*=}"
}

repository=$(value REPOSITORY "$STAGING")
sha=$(value SHA256 "$STAGING")
if ! [[ "$sha" =~ ^[0-9a-f]{64}$ ]]; then
  echo "promote.sh: $STAGING: SHA256=$sha is not 64 lowercase hex digits" >&2
  exit 1
fi
if [ "$(value SHA256 "$PRODUCTION")" = "$sha" ] && [ "$(value REPOSITORY "$PRODUCTION")" = "$repository" ]; then
  echo "promote.sh: production already runs $repository@sha256:$sha" >&2
  exit 0
fi
previous=$(value SHA256 "$PRODUCTION")
tmp=$(mktemp "$PRODUCTION.XXXXXX")
sed -e "s|^REPOSITORY=.*|REPOSITORY=$repository|" \
    -e "s|^SHA256=.*|SHA256=$sha|" \
    -e "s|^PUBLISHED=.*|PUBLISHED=true|" "$PRODUCTION" > "$tmp"
mv "$tmp" "$PRODUCTION"
echo "promote.sh: production now pins $repository@sha256:$sha (was sha256:$previous)" >&2
echo "promote.sh: commit $PRODUCTION and open a pull request; ArgoCD syncs production when it merges" >&2
