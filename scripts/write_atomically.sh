# Sourced by run_experiments.sh.
# write_atomically FILE CMD...: FILE appears only if CMD succeeds. The output
# goes to a temporary file of its own beside FILE, so several invocations
# sharing one results folder (two grids, or a job array's shards) never take
# each other's half-written file. mktemp's file is private (0600); it gets the
# mode FILE has, or the one a plain redirection would give, before the rename.
write_atomically() {
  local out="$1" tmp
  shift
  tmp="$(mktemp "$out.XXXXXX.tmp")"
  if "$@" > "$tmp"; then
    if [[ -e "$out" ]]; then
      chmod --reference="$out" "$tmp"
    else
      chmod "$(printf '%o' $(( 0666 & ~0$(umask) )))" "$tmp"
    fi
    mv -f "$tmp" "$out"
  else
    local code=$?
    rm -f "$tmp"
    return "$code"
  fi
}
