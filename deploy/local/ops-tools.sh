#!/usr/bin/env bash
# Tools the operations tests need, installed when missing (no Docker):
#  - promtool and prometheus, from Debian's `prometheus` package: `promtool check rules`,
#    `promtool test rules`, and a real Prometheus that a test starts on a free port;
#  - kustomize: `kubectl kustomize` when kubectl is there, else kustomize from the Go module proxy.
# The package's own service is never started: Debian's maintainer scripts ask policy-rc.d first,
# and where no policy exists this script lends one (exit 101: "do not start") for the install.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KUSTOMIZE_VERSION="${AUTHSTREAM_KUSTOMIZE_VERSION:-v5.5.0}"

install_prometheus() {
  command -v promtool >/dev/null && command -v prometheus >/dev/null && return
  local policy=/usr/sbin/policy-rc.d lent=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"
    lent=1
  fi
  apt_install prometheus || { [ -n "$lent" ] && as_root rm -f "$policy"; die "could not install prometheus"; }
  [ -n "$lent" ] && as_root rm -f "$policy"
  command -v promtool >/dev/null || die "the prometheus package did not bring promtool"
}

install_kustomize() {
  if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then return; fi
  command -v kustomize >/dev/null && return
  command -v go >/dev/null || apt_install golang-go
  log "building kustomize $KUSTOMIZE_VERSION from the Go module proxy"
  GOBIN=/usr/local/bin as_root env PATH="$PATH" GOBIN=/usr/local/bin \
    go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
}

install_prometheus
install_kustomize
