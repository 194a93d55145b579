#!/usr/bin/env bash
# Fails when a module is larger than its budget (bytes); `make build` runs it
# on the shipped filter. Usage: check-size.sh FILE BUDGET
set -euo pipefail
file=$1 budget=$2
size=$(stat -c %s "$file")
echo "$file: $size bytes (budget $budget)"
if [ "$size" -gt "$budget" ]; then
  echo "error: $file is $size bytes, over the budget of $budget" >&2
  exit 1
fi
