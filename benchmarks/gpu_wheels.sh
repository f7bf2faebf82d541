#!/usr/bin/env bash
# Download, on a machine with PyPI, the wheels that benchmarks/gpu_check.sh installs on a GPU machine
# that cannot reach PyPI (Python 3.12, x86-64 Linux), at the versions pinned in
# requirements/constraints.txt. They land in .whl/ (keep it out of git: echo /.whl/ >> .git/info/exclude).
#     bash benchmarks/gpu_wheels.sh && du -sh .whl      # about 52 MB
set -euo pipefail
packages=(transformers tokenizers peft av platformdirs openpyxl et_xmlfile)
mkdir -p .whl
for name in "${packages[@]}"; do
    pin=$(grep -i "^${name}==" requirements/constraints.txt) || { echo "no pin for $name" >&2; exit 1; }
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl "$pin"
done
ls .whl
