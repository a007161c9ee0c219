# shellcheck shell=bash
# Runs slow set-up steps side by side, each logging to its own file, and says once a minute
# what is still running and roughly how long it takes, so a long first build never looks hung.
# Sourced by setup.sh:
#   job NAME "WHAT" command...  starts a step, saying what it does
#   wait_jobs [ABOUT]           waits for every step, saying once a minute which still run and
#                               how long all of them together take (ABOUT, on 2 cores); on a
#                               failure stops the others, shows the end of the failed step's
#                               log and returns 1
JOB_LOGS="${JOB_LOGS:-${XDG_CACHE_HOME:-$HOME/.cache}/convlab/logs}"
mkdir -p "$JOB_LOGS"
declare -A JOB_PID=() JOB_START=()
# Each step in its own process group, so a failure (or Ctrl-C) stops all of its processes.
set -m

minutes() { printf '%d min %02d s' $(($1 / 60)) $(($1 % 60)); }

job() {
  local name=$1 what=$2
  shift 2
  "$@" >"$JOB_LOGS/$name.log" 2>&1 &
  JOB_PID[$name]=$!
  JOB_START[$name]=$SECONDS
  echo "setup: $name: $what (log: $JOB_LOGS/$name.log)"
}

# No `local` here: it also runs from the EXIT trap, outside any function.
stop_jobs() {
  for _job in "${!JOB_PID[@]}"; do
    { kill -- "-${JOB_PID[$_job]}" && wait "${JOB_PID[$_job]}"; } 2>/dev/null || true
  done
  JOB_PID=()
}
trap 'stop_jobs 2>/dev/null' EXIT
trap 'stop_jobs; exit 130' INT
trap 'stop_jobs; exit 143' TERM

wait_jobs() {
  local about="${1:-}" name status started=$SECONDS next_report=$((SECONDS + 60)) running
  [ -z "$about" ] || echo "setup: these steps run side by side: about $about in all on 2 cores"
  while [ ${#JOB_PID[@]} -gt 0 ]; do
    for name in "${!JOB_PID[@]}"; do
      kill -0 "${JOB_PID[$name]}" 2>/dev/null && continue
      status=0
      wait "${JOB_PID[$name]}" || status=$?
      unset "JOB_PID[$name]"
      if [ "$status" -ne 0 ]; then
        echo "setup: $name FAILED (exit $status); the end of $JOB_LOGS/$name.log:" >&2
        tail -n 40 "$JOB_LOGS/$name.log" >&2
        stop_jobs
        return 1
      fi
      echo "setup: $name: done in $(minutes $((SECONDS - JOB_START[$name])))"
    done
    if [ ${#JOB_PID[@]} -gt 0 ] && [ "$SECONDS" -ge "$next_report" ]; then
      printf -v running '%s, ' "${!JOB_PID[@]}"
      echo "setup: $(minutes $((SECONDS - started))) so far${about:+ of about $about}; still building: ${running%, }"
      next_report=$((SECONDS + 60))
    fi
    # In the background and waited for: under `set -m` a foreground sleep would get its own
    # process group and take the Ctrl-C meant for this script.
    sleep 1 &
    wait $!
  done
}
