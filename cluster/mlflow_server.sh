#!/usr/bin/env bash
# The MLflow tracking server for the head node: a database backend, an artifact root it serves
# itself (clients upload through it, so no shared filesystem is needed), bound to
# 127.0.0.1 unless --host names another address. Runs in the foreground; SIGTERM stops it.
#
#   cluster/mlflow_server.sh --dir ~/autoaug-mlflow --port 5000
#   cluster/mlflow_server.sh --host 10.0.0.5 --allowed-hosts 10.0.0.5:5000 \
#       --backend-store-uri postgresql://mlflow@db/mlflow --artifacts-destination s3://my-bucket/autoaug
#
# Anyone who can reach --host:--port can read and change every record: see cluster/README.md.
set -euo pipefail

host=127.0.0.1
port=5000
dir="${HOME}/autoaug-mlflow"
workers=1
backend=""
artifacts=""
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --host) host="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --backend-store-uri) backend="$2"; shift 2 ;;
    --artifacts-destination) artifacts="$2"; shift 2 ;;
    --allowed-hosts) extra+=(--allowed-hosts "$2"); shift 2 ;;  # Host headers to accept beyond localhost
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "mlflow_server.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
backend="${backend:-sqlite:///${dir}/mlflow.db}"
artifacts="${artifacts:-${dir}/artifacts}"
python="${PYTHON:-python3}"  # the Python environment that has mlflow installed

# Job runners are not used by autoaug and cost memory on the head.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
exec "$python" -m mlflow server \
  --backend-store-uri "$backend" \
  --artifacts-destination "$artifacts" \
  --serve-artifacts \
  --host "$host" --port "$port" --workers "$workers" "${extra[@]}"
