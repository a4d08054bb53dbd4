#!/usr/bin/env bash
# External provider for tests, speaking docs/provider-protocol.md. $1 selects the behaviour.
set -eu
mode="$1"; shift
request="" response=""
while [ $# -gt 0 ]; do
  case "$1" in
    --request) request="$2"; shift 2 ;;
    --response) response="$2"; shift 2 ;;
    *) echo "unexpected argument $1" >&2; exit 2 ;;
  esac
done
ns=$(sed -n 's/.*"namespace": *"\([a-z0-9_]*\)".*/\1/p' "$request")
query=$(sed -n 's/.*"query": *"\([a-z_]*\)".*/\1/p' "$request")
echo "this stdout noise is ignored"
case "$mode" in
  ok)
    if [ "$query" = get_all_configs ]; then
      printf '{"namespace": "%s", "configs": [{"name": "chip", "values": ["a1", "a2", "a3"], "multi_value": false}]}' "$ns" >"$response"
    else
      printf '{"namespace": "%s", "configs": [{"name": "chip", "values": ["a2", "a1"], "multi_value": false}]}' "$ns" >"$response"
    fi ;;
  env)
    # report the environment and cwd it was given, as a feature value list
    names=$(env | cut -d= -f1 | tr 'A-Z' 'a-z' | grep -E '^[a-z0-9_]+$' | sort | sed 's/.*/"&"/' | paste -sd, -)
    here=$(pwd | md5sum | cut -c1-8)
    printf '{"namespace": "%s", "configs": [{"name": "env", "values": [%s], "multi_value": true}, {"name": "cwd", "values": ["%s"], "multi_value": false}]}' "$ns" "$names" "$here" >"$response" ;;
  hang) sleep 3600 ;;
  badjson) echo '{"namespace": ' >"$response" ;;
  wrongns) printf '{"namespace": "other", "configs": []}' >"$response" ;;
  fail) echo "no accelerator driver" >&2; exit 4 ;;
  huge) { printf '{"namespace": "%s", "configs": [' "$ns"; head -c 17000000 /dev/zero | tr '\0' ' '; printf ']}'; } >"$response" ;;
  zero) ln -s /dev/zero "$response" ;;
  private)
    # the permissions of the directory holding the request and response files
    printf '{"namespace": "%s", "configs": [{"name": "mode", "values": ["%s"], "multi_value": false}]}' "$ns" "$(stat -c %a "$(dirname "$request")")" >"$response" ;;
esac
