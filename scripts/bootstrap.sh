#!/usr/bin/env bash
# Idempotent set-up on a fresh machine: a project-local virtual environment in .venv with
# the pinned requirements, this package installed editable, its ROS messages generated and
# compiled into the venv, and the anny body-model cache built once into .cache/anny. Re-running it with nothing changed takes a few seconds.
#   scripts/bootstrap.sh          CPU (default)
#   scripts/bootstrap.sh --gpu    GPU extras instead of the CPU onnxruntime
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
flavour=cpu
[ "${1:-}" = "--gpu" ] && flavour=gpu
other=$([ $flavour = cpu ] && echo gpu || echo cpu)

[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
stamp="$venv/.bootstrap-$flavour"
want=$(cat requirements/base.txt requirements/test.txt "requirements/$flavour.txt" setup.py | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing requirements ($flavour) into $venv"
  if [ -e "$venv/.bootstrap-$other" ]; then
    "${pip[@]}" uninstall -y onnxruntime onnxruntime-gpu || true
    rm -f "$venv/.bootstrap-$other"
  fi
  "${pip[@]}" install -q -r requirements/base.txt -r requirements/test.txt -r "requirements/$flavour.txt"
  "${pip[@]}" install -q --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
fi
"$venv/bin/python" scripts/build_msgs.py   # tf2_msgs, hri_msgs, interaction_recon_msgs into the venv, without colcon
"$venv/bin/interaction-recon" build-cache
"$venv/bin/python" -m interaction_recon.perception.assets   # packaged tflite models (+ test media) into .cache/perception, once
