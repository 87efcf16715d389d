# bash completion for warden (installed by `make install` as
# $(PREFIX)/share/bash-completion/completions/warden).

_warden_policies() {
  local dir=${WARDEN_POLICY_DIR:-/usr/local/share/warden/policies} names="default python node shell" f
  for f in "$dir"/*.toml; do
    [ -e "$f" ] || continue
    f=${f##*/}
    names+=" ${f%.toml}"
  done
  printf '%s\n' $names | sort -u
}

_warden() {
  local cur prev cmd i
  COMPREPLY=()
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  cmd=${COMP_WORDS[1]}

  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "run policy doctor gc agent submit status list wait kill logs help version --help --version" -- "$cur"))
    return
  fi

  case $cmd in
    run)
      # After "--" (or the program) everything is the job's: complete commands, then files.
      for ((i = 2; i < COMP_CWORD; i++)); do
        if [ "${COMP_WORDS[i]}" = "--" ]; then
          if [ $((i + 1)) -eq "$COMP_CWORD" ]; then
            COMPREPLY=($(compgen -c -- "$cur"))
          else
            COMPREPLY=($(compgen -f -- "$cur"))
          fi
          return
        fi
      done
      case $prev in
        --policy)
          COMPREPLY=($(compgen -W "$(_warden_policies)" -- "$cur") $(compgen -f -X '!*.toml' -- "$cur"))
          compopt -o filenames 2>/dev/null
          return ;;
        --ro-bind|--bind|--bind-owned|--output-dir|--chdir)
          COMPREPLY=($(compgen -d -- "$cur")); compopt -o filenames 2>/dev/null; return ;;
        --result|--stdin|--env-file|--seccomp-profile)
          COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null; return ;;
        --net)
          COMPREPLY=($(compgen -W "none loopback veth" -- "$cur")); return ;;
        --env-pass)
          COMPREPLY=($(compgen -e -- "$cur")); return ;;
        --memory|--pids|--cpus)
          COMPREPLY=($(compgen -W "none" -- "$cur")); return ;;
        --env|--timeout|--allow|--cgroup-parent|--job-id|--uid|--gid|--tmp-size|--hostname|--result-fd)
          return ;;
      esac
      if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "--policy --ro-bind --bind --bind-owned --chdir --uid --gid
          --memory --pids --cpus --tmp-size --hostname --env --env-pass --env-file --stdin
          --timeout --seccomp-profile --output-dir --result --result-fd --net --allow
          --cgroup-parent --job-id --pty --help --" -- "$cur"))
      else
        COMPREPLY=($(compgen -f -- "$cur"))
        compopt -o filenames 2>/dev/null
      fi
      ;;
    policy)
      if [ "$COMP_CWORD" -eq 2 ]; then
        COMPREPLY=($(compgen -W "check import-oci --help" -- "$cur"))
      elif [ "${COMP_WORDS[2]}" = check ]; then
        COMPREPLY=($(compgen -W "$(_warden_policies) --help" -- "$cur") $(compgen -f -X '!*.toml' -- "$cur"))
        compopt -o filenames 2>/dev/null
      elif [ "${COMP_WORDS[2]}" = import-oci ]; then
        case $prev in
          --extends) COMPREPLY=($(compgen -W "$(_warden_policies)" -- "$cur")) ;;
          *) if [[ $cur == -* ]]; then
               COMPREPLY=($(compgen -W "--extends -o --force --help" -- "$cur"))
             else
               COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null
             fi ;;
        esac
      fi
      ;;
    help)
      [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "run policy doctor gc agent submit status list wait kill logs version" -- "$cur"))
      ;;
    doctor)
      COMPREPLY=($(compgen -W "--json --help" -- "$cur"))
      ;;
    gc|version)
      COMPREPLY=($(compgen -W "--help" -- "$cur"))
      ;;
  esac
}
complete -F _warden warden
