# Sourced by run_experiments.sh.
# write_atomically FILE CMD...: FILE appears only if CMD succeeds. The output
# goes to a temporary file of its own beside FILE, so several invocations
# sharing one results folder (two grids, or a job array's shards) never take
# each other's half-written file.
write_atomically() {
  local out="$1" tmp
  shift
  tmp="$(mktemp "$out.XXXXXX.tmp")"
  if "$@" > "$tmp"; then
    mv -f "$tmp" "$out"
  else
    local code=$?
    rm -f "$tmp"
    return "$code"
  fi
}
