#!/usr/bin/env bash
# Wheels that bench/gpu_check.py needs on the GPU machine (Python 3.12) and its image lacks:
# ketch's compiled and database dependencies, and Metaflow 2.19 with its own. Run here, in the
# repository root; then name .whl in the device call's carry (see bench/gpu_check.py).
set -euo pipefail
cd "$(dirname "$0")/.."
exclude=$(git rev-parse --git-path info/exclude); mkdir -p "$(dirname "$exclude")"
grep -qsx "/.whl/" "$exclude" || echo "/.whl/" >> "$exclude"
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 \
    manylinux1_x86_64 manylinux_2_24_x86_64 manylinux_2_5_x86_64; do
    platforms+=(--platform "$p")
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" -d .whl \
    'sqlalchemy>=2.0' 'greenlet>=3' 'zstandard>=0.22' 'blake3>=0.4' 'metaflow==2.19.39' \
    boto3 botocore s3transfer jmespath
ls -la .whl
