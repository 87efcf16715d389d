/* warden.h: the C interface of libwarden, for programs in C and for any
 * language that calls C (Python's ctypes, Go's cgo, Rust's FFI).
 *
 * It is a thin layer over the C++ API of warden/launcher.h, whose comments
 * give the full contract of each option; this header says what the C layer
 * adds: handles, error codes, and who frees what. It needs only C11 (or
 * C++ of any standard); the C++ headers need -std=c++20.
 *
 * A program creates one launcher and starts jobs through it, from any
 * thread:
 *
 *   warden_launcher *launcher;
 *   if (warden_launcher_new(NULL, &launcher) != WARDEN_OK) {
 *     fprintf(stderr, "%s\n", warden_last_error());
 *     ...
 *   }
 *   warden_job_spec *spec;
 *   warden_job_spec_new(&spec);
 *   const char *argv[] = {"/bin/echo", "hello"};
 *   warden_job_spec_set_argv(spec, 2, argv);
 *   warden_job_spec_set_stdio_capture(spec, WARDEN_STDOUT, 1 << 20);
 *   warden_job *job;
 *   if (warden_job_start(launcher, spec, &job) == WARDEN_OK) {
 *     warden_job_wait(job, -1);
 *     int status, code;
 *     warden_job_status(job, &status);
 *     warden_job_exit_code(job, &code);
 *     ...
 *     warden_job_free(job);
 *   }
 *   warden_job_spec_free(spec);
 *   warden_launcher_free(launcher);
 *
 * Errors. Every function that can fail returns an int: WARDEN_OK (0), or
 * one of the negative codes of enum warden_error. A failed call also leaves
 * a message in warden_last_error(), which says what failed and what to do.
 * Functions that return a value (an fd) return it when it is >= 0 and an
 * error code otherwise. An output parameter is written only on success.
 *
 * Handles. warden_launcher_options, warden_launcher, warden_job_spec and
 * warden_job are opaque handles. The library keeps a registry of the live
 * ones, so a NULL handle, one already freed, or a pointer that never came
 * from the library (or is a handle of another kind) is refused with
 * WARDEN_EBADHANDLE: misuse gives an error, never a crash or a touch of
 * freed memory. A handle value is never reused once freed.
 *
 * Memory. Each handle is freed with its own *_free function, or with
 * warden_free. Strings that the library hands out (warden_result_json,
 * warden_job_output) are the caller's, freed with warden_free (never with
 * free(3): the library tracks them). Strings returned as `const char *`
 * (warden_last_error, warden_version, warden_job_id, the names) belong to
 * the library; each one's lifetime is given below. Strings passed in are
 * copied: the caller may free them as soon as the call returns.
 *
 * Threads. Every function is thread-safe. A launcher and its jobs may be
 * used from several threads at once; a job may be waited on from several
 * threads. The library installs no signal handler and reads no environment
 * variable (see warden/launcher.h for what a launcher may change on the
 * host, and the options that allow it).
 *
 * No C++ exception crosses this interface: a failed allocation is
 * WARDEN_ENOMEM, anything else unexpected WARDEN_EINTERNAL.
 *
 * Not in this interface: a seccomp profile imported from an OCI (Docker)
 * JSON file, which `warden run --seccomp-profile` takes. The library has no
 * public function for that import yet; a policy whose TOML carries the
 * [seccomp] rules does the same (warden_job_spec_set_policy_toml).
 *
 * Versions. The library's symbols carry the version node WARDEN_0. A
 * program built against this header may check at run time that the library
 * it loaded speaks the same interface: warden_abi_version() ==
 * WARDEN_ABI_VERSION.
 */
#ifndef WARDEN_WARDEN_H_
#define WARDEN_WARDEN_H_

#include <stddef.h>
#include <stdint.h>

#include "warden/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The interface version of this header. It changes only when a function
 * is removed or changes meaning; new functions keep it. */
#define WARDEN_ABI_VERSION 0

/* ------------------------------------------------------------------------
 * Errors and versions
 * ---------------------------------------------------------------------- */

enum warden_error {
  WARDEN_OK = 0,
  /* An argument is wrong: a NULL string or output pointer, an option the
   * policy forbids, a bad stream number, a refused signal. Nothing was
   * changed. */
  WARDEN_EINVAL = -1,
  /* The handle is NULL, was freed, never came from this library, or is a
   * handle of another kind than the function takes. */
  WARDEN_EBADHANDLE = -2,
  /* The object is not in the state the call needs: a result asked for
   * before the job ended, a kill or cancel of a job that has ended. */
  WARDEN_ESTATE = -3,
  /* warden_job_wait's time ran out while the job still runs. */
  WARDEN_ETIMEDOUT = -4,
  /* An allocation failed. */
  WARDEN_ENOMEM = -5,
  /* The host refused or failed: a system call, a file, a cgroup, a kernel
   * feature. The message names the call and its argument. */
  WARDEN_ESYSTEM = -6,
  /* A named thing does not exist: a policy name, a file. */
  WARDEN_ENOTFOUND = -7,
  /* A privilege is missing (warden needs root or the capabilities that
   * warden/launcher.h lists). */
  WARDEN_EPERM = -8,
  /* A bug in warden: an invariant did not hold. Please report it with the
   * message. */
  WARDEN_EINTERNAL = -9
};

/* The message of this thread's last failed call: what failed and what to
 * do. A call that succeeds leaves it as it was (as errno). Never NULL: ""
 * before any failure. The string belongs to the library and stays valid
 * until this thread's next failed call into the library, or the thread's
 * end. */
WARDEN_EXPORT const char *warden_last_error(void);

/* The constant's name of an error code ("WARDEN_EINVAL"), or "unknown" for
 * a number that is none of them. A static string. */
WARDEN_EXPORT const char *warden_error_name(int code);

/* The library's version, "0.1.0" (what `warden --version` prints). A
 * static string. */
WARDEN_EXPORT const char *warden_version(void);

/* The interface version of the loaded library; compare it with
 * WARDEN_ABI_VERSION. */
WARDEN_EXPORT int warden_abi_version(void);

/* Frees anything the library handed out: a string (warden_result_json,
 * warden_job_output) or a handle of any kind (as its *_free function
 * does). NULL, a pointer freed already, or one the library never handed
 * out: WARDEN_EBADHANDLE, and nothing is freed. */
WARDEN_EXPORT int warden_free(void *object);

/* ------------------------------------------------------------------------
 * Launcher options
 *
 * The options a launcher is created with, and that it keeps for its life.
 * Each setter copies its value; the meaning and default of each field is
 * that of LauncherOptions in warden/launcher.h. Paths must be absolute
 * (checked by warden_launcher_new, which names the option at fault).
 * ---------------------------------------------------------------------- */

typedef struct warden_launcher_options warden_launcher_options;

/* Makes an options object with every default. */
WARDEN_EXPORT int warden_launcher_options_new(warden_launcher_options **out);
WARDEN_EXPORT int warden_launcher_options_free(warden_launcher_options *options);

/* Where the leases of job uids and network addresses are kept
 * ("/run/warden"); every warden on a host must use the same one. */
WARDEN_EXPORT int warden_launcher_options_set_state_dir(warden_launcher_options *options,
                                                        const char *dir);
/* Either lease directory elsewhere; "" : under the state directory. */
WARDEN_EXPORT int warden_launcher_options_set_net_state_dir(warden_launcher_options *options,
                                                            const char *dir);
WARDEN_EXPORT int warden_launcher_options_set_uid_state_dir(warden_launcher_options *options,
                                                            const char *dir);
/* Compiled seccomp filters and mount templates ("/var/cache/warden"). */
WARDEN_EXPORT int warden_launcher_options_set_cache_dir(warden_launcher_options *options,
                                                        const char *dir);
/* Where policy names are looked up; "" : the installed policies, else the
 * built-in ones. */
WARDEN_EXPORT int warden_launcher_options_set_policy_dir(warden_launcher_options *options,
                                                         const char *dir);
/* Where jobs' cgroups are created in each hierarchy; "" : under this
 * process's own cgroup. */
WARDEN_EXPORT int warden_launcher_options_set_cgroup_parent(warden_launcher_options *options,
                                                            const char *cgroup);
/* The address pool of network mode veth, a CIDR from /12 to /28;
 * "" : 10.213.0.0/16. */
WARDEN_EXPORT int warden_launcher_options_set_net_pool(warden_launcher_options *options,
                                                       const char *cidr);
/* The uids and gids leased one per job, "LO-HI"; "none": every job runs as
 * its policy's uid; "" : the default range. */
WARDEN_EXPORT int warden_launcher_options_set_uid_range(warden_launcher_options *options,
                                                        const char *range);
/* Cgroup controllers not to use ("blkio,cpu"); a limit that needs one then
 * fails its job. */
WARDEN_EXPORT int warden_launcher_options_set_cgroup_disable(warden_launcher_options *options,
                                                             const char *controllers);
/* The three permissions, each off (0) by default; any other value turns it
 * on. may_move_self: this process may move into a leaf child of its own
 * cgroup (cgroup v2). forward_signals: SIGTERM, SIGINT, SIGHUP, SIGQUIT,
 * SIGUSR1 and SIGUSR2 sent to this process go to the running job (for a
 * program that runs one job at a time; warden_launcher_new then blocks them
 * in the calling thread). may_change_sysctls: warden may turn on
 * net.ipv4.ip_forward for network mode veth. */
WARDEN_EXPORT int warden_launcher_options_set_may_move_self(warden_launcher_options *options,
                                                            int allow);
WARDEN_EXPORT int warden_launcher_options_set_forward_signals(warden_launcher_options *options,
                                                              int allow);
WARDEN_EXPORT int warden_launcher_options_set_may_change_sysctls(
    warden_launcher_options *options, int allow);

/* Log levels, as warden/log.h's LogLevel. */
enum warden_log_level {
  WARDEN_LOG_DEBUG = 0,
  WARDEN_LOG_INFO = 1,
  WARDEN_LOG_WARN = 2,
  WARDEN_LOG_ERROR = 3
};

/* A log callback. `job_id` is "" for an event of no job. Both strings are
 * valid only during the call. It is called from the library's threads,
 * several at once: it must be thread-safe and must not call back into the
 * library for the same job. */
typedef void (*warden_log_fn)(void *ctx, int level, const char *job_id, const char *message);

/* Events at or above `min_level` go to `fn` with `ctx`. fn NULL: the
 * process-wide sink of warden/log.h (stderr, warn and above), the default.
 * `ctx` must outlive the launcher. A level outside enum warden_log_level:
 * WARDEN_EINVAL. */
WARDEN_EXPORT int warden_launcher_options_set_log(warden_launcher_options *options,
                                                  warden_log_fn fn, void *ctx, int min_level);

/* The environment that policies' env.pass and warden_job_spec_add_env_pass
 * copy variables from. The library never reads its own process's
 * environment: a program that wants its variables passed on sets them
 * here. setenv sets one (replacing it); import_environ sets each
 * "NAME=VALUE" entry of a NULL-terminated array such as environ (entries
 * without '=' are skipped); clear_environment removes them all. */
WARDEN_EXPORT int warden_launcher_options_setenv(warden_launcher_options *options,
                                                 const char *name, const char *value);
WARDEN_EXPORT int warden_launcher_options_import_environ(warden_launcher_options *options,
                                                         const char *const *envp);
WARDEN_EXPORT int warden_launcher_options_clear_environment(warden_launcher_options *options);

/* ------------------------------------------------------------------------
 * Launcher
 * ---------------------------------------------------------------------- */

typedef struct warden_launcher warden_launcher;

/* Checks the options and makes a launcher; `options` NULL: every default.
 * The options are copied: free them whenever. A bad option: WARDEN_EINVAL
 * naming it. Nothing is created on the host until a job starts. */
WARDEN_EXPORT int warden_launcher_new(const warden_launcher_options *options,
                                      warden_launcher **out);

/* Waits until every job started through the launcher has ended, then frees
 * it. Its job handles stay valid and must still be freed. */
WARDEN_EXPORT int warden_launcher_free(warden_launcher *launcher);

/* ------------------------------------------------------------------------
 * Job specs
 *
 * What one job runs and under which policy, as `warden run`'s options say
 * (warden/launcher.h's JobSpec). A spec is copied when a job starts, so one
 * spec may start many jobs and be freed while they run. Setters check what
 * they can alone (a NULL, a bad number); the rest (an option the policy
 * forbids, a relative path) is checked by warden_job_start, as `warden
 * run` checks its flags. Calls on one spec from several threads are
 * serialised; a start takes the spec as it is at that moment.
 * ---------------------------------------------------------------------- */

typedef struct warden_job_spec warden_job_spec;

/* A spec with no argv, the policy "default", and /dev/null for each
 * stream. */
WARDEN_EXPORT int warden_job_spec_new(warden_job_spec **out);
WARDEN_EXPORT int warden_job_spec_free(warden_job_spec *spec);

/* The policy, by name or file path as `warden run --policy` takes it. It
 * is resolved by the launcher (in its policy directory, else built in)
 * at the spec's first warden_job_start through that launcher, and kept
 * for the spec's later starts through it: setting the policy again
 * resolves it anew, after its file changed. An unknown name fails the
 * start with WARDEN_ENOTFOUND. Replaces a policy set before. */
WARDEN_EXPORT int warden_job_spec_set_policy(warden_job_spec *spec, const char *name_or_file);

/* The policy from TOML text (policies/README.md gives the format); `name`
 * names it in error locations and in the result. Parsed and checked now:
 * a bad policy is WARDEN_EINVAL with "NAME:LINE:COL: what is wrong".
 * Replaces a policy set before. The text may not `extends` a file by a
 * relative path. */
WARDEN_EXPORT int warden_job_spec_set_policy_toml(warden_job_spec *spec, const char *toml,
                                                  const char *name);

/* The program and its arguments: `argc` strings, none NULL; argv[0] is
 * the program's path inside the sandbox. Replaces the argv set before. */
WARDEN_EXPORT int warden_job_spec_set_argv(warden_job_spec *spec, size_t argc,
                                           const char *const *argv);

/* One variable of the job's environment, on top of the policy's
 * (`--env NAME=VALUE`). */
WARDEN_EXPORT int warden_job_spec_setenv(warden_job_spec *spec, const char *name,
                                         const char *value);
/* A variable copied from the launcher's environment (`--env-pass NAME`). */
WARDEN_EXPORT int warden_job_spec_add_env_pass(warden_job_spec *spec, const char *name);

/* A bind mount of host path `source` at `destination` in the sandbox:
 * read-only (`--ro-bind`), writable (`--bind`), or owned (`--bind-owned`:
 * writable, idmapped so that the job sees the source owner's files as its
 * own). */
enum warden_bind_mode { WARDEN_BIND_RO = 0, WARDEN_BIND_RW = 1, WARDEN_BIND_OWNED = 2 };
WARDEN_EXPORT int warden_job_spec_add_bind(warden_job_spec *spec, const char *source,
                                           const char *destination, int mode);

/* The wall-time limit in milliseconds (`--timeout`), replacing the
 * policy's; 0: none. */
WARDEN_EXPORT int warden_job_spec_set_timeout_ms(warden_job_spec *spec, uint64_t timeout_ms);

/* The standard streams. `stream` is WARDEN_STDIN, WARDEN_STDOUT or
 * WARDEN_STDERR; any other number is WARDEN_EINVAL. Each setter replaces
 * what was set for that stream; the default is /dev/null.
 *   null:    /dev/null.
 *   fd:      the caller's fd, handed to the job as it is (duplicated at
 *            start: the caller may close its own then).
 *   relay:   output only: the job writes to a pipe that warden copies into
 *            the caller's fd, so the job never holds that fd.
 *   file:    a path, as StdioSpec::File: input opened as the caller may;
 *            output created mode 0600, never through a symlink, cut at
 *            max_bytes (0: the policy's output limit).
 *   capture: output only: kept in memory up to max_bytes (0: the policy's
 *            output limit), read with warden_job_output.
 * An input-only or output-only kind on the wrong stream fails
 * warden_job_start with WARDEN_EINVAL. */
enum warden_stream { WARDEN_STDIN = 0, WARDEN_STDOUT = 1, WARDEN_STDERR = 2 };
WARDEN_EXPORT int warden_job_spec_set_stdio_null(warden_job_spec *spec, int stream);
WARDEN_EXPORT int warden_job_spec_set_stdio_fd(warden_job_spec *spec, int stream, int fd);
WARDEN_EXPORT int warden_job_spec_set_stdio_relay(warden_job_spec *spec, int stream, int fd);
WARDEN_EXPORT int warden_job_spec_set_stdio_file(warden_job_spec *spec, int stream,
                                                 const char *path, uint64_t max_bytes);
WARDEN_EXPORT int warden_job_spec_set_stdio_capture(warden_job_spec *spec, int stream,
                                                    uint64_t max_bytes);

/* `--output-dir`: stdout and stderr go to DIR/stdout and DIR/stderr,
 * replacing the two streams' settings; "" : off. */
WARDEN_EXPORT int warden_job_spec_set_output_dir(warden_job_spec *spec, const char *dir);
/* `--pty` (nonzero: on): the job gets a new pseudo-terminal, relayed to
 * the fds set for stdin and stdout with warden_job_spec_set_stdio_fd. */
WARDEN_EXPORT int warden_job_spec_set_pty(warden_job_spec *spec, int pty);
/* The name of the job's resources; "" : generated. */
WARDEN_EXPORT int warden_job_spec_set_job_id(warden_job_spec *spec, const char *job_id);
/* The job's cgroup parent; "" : the launcher's. */
WARDEN_EXPORT int warden_job_spec_set_cgroup_parent(warden_job_spec *spec, const char *cgroup);
/* Nonzero (the default): the job is killed when this process dies. */
WARDEN_EXPORT int warden_job_spec_set_die_with_parent(warden_job_spec *spec, int on);

/* The per-job options, each as `warden run`'s flag of that name and
 * checked against the policy at start. */
WARDEN_EXPORT int warden_job_spec_set_cwd(warden_job_spec *spec, const char *dir);     /* --chdir */
WARDEN_EXPORT int warden_job_spec_set_uid(warden_job_spec *spec, uint32_t uid);        /* --uid */
WARDEN_EXPORT int warden_job_spec_set_gid(warden_job_spec *spec, uint32_t gid);        /* --gid */
WARDEN_EXPORT int warden_job_spec_set_hostname(warden_job_spec *spec, const char *name);
/* --memory and --pids: a limit, or WARDEN_NO_LIMIT to remove the policy's
 * (`--memory none`). Never optional: a host that cannot enforce the limit
 * fails the job. */
#define WARDEN_NO_LIMIT UINT64_MAX
WARDEN_EXPORT int warden_job_spec_set_memory_bytes(warden_job_spec *spec, uint64_t bytes);
WARDEN_EXPORT int warden_job_spec_set_pids(warden_job_spec *spec, uint64_t pids);
/* --cpus: a number of CPUs, fractions allowed (0.5); WARDEN_NO_CPU_LIMIT
 * (any negative number) removes the policy's. NaN and infinities:
 * WARDEN_EINVAL. */
#define WARDEN_NO_CPU_LIMIT (-1.0)
WARDEN_EXPORT int warden_job_spec_set_cpus(warden_job_spec *spec, double cpus);
/* --tmp-size: the size of the job's /tmp. */
WARDEN_EXPORT int warden_job_spec_set_tmp_size_bytes(warden_job_spec *spec, uint64_t bytes);
/* --net: the network mode. */
enum warden_net_mode { WARDEN_NET_NONE = 0, WARDEN_NET_LOOPBACK = 1, WARDEN_NET_VETH = 2 };
WARDEN_EXPORT int warden_job_spec_set_net(warden_job_spec *spec, int mode);
/* --allow: one entry of the network whitelist ("10.0.0.1:443/tcp",
 * "host:8080"). */
WARDEN_EXPORT int warden_job_spec_add_allow(warden_job_spec *spec, const char *entry);

/* ------------------------------------------------------------------------
 * Jobs
 * ---------------------------------------------------------------------- */

typedef struct warden_job warden_job;

/* Starts a job and returns once its sandbox runs or its setup has failed;
 * it does not wait for the job's end. A request that cannot run at all (no
 * argv, an option the policy forbids, a bad stream) is an error here and
 * starts nothing. A setup that fails on the host (a cgroup, a mount, a
 * missing privilege) is a job whose result is already there: status
 * WARDEN_JOB_SETUP_ERROR, exit code 125, the reason in the result. The
 * spec is copied. */
WARDEN_EXPORT int warden_job_start(warden_launcher *launcher, const warden_job_spec *spec,
                                   warden_job **out);

/* Frees the handle. A job that still runs is killed first (SIGKILL to
 * every process of it); a warden_job_wait in another thread then returns.
 * The job's resources are released once no call uses the handle. */
WARDEN_EXPORT int warden_job_free(warden_job *job);

/* The job's id: the one set in its spec, or the generated one. The string
 * belongs to the handle and is valid until it is freed; NULL for a bad
 * handle. */
WARDEN_EXPORT const char *warden_job_id(warden_job *job);

/* File descriptors for the caller's own event loop, owned by the job
 * (never close, read or write them):
 *   WARDEN_FD_PID: the pidfd of the sandbox's init; WARDEN_ESTATE when the
 *     job never started (setup error).
 *   WARDEN_FD_END: readable (POLLIN) once the result is ready, and then
 *     for good.
 * Returns the fd, or a negative error; another `which`: WARDEN_EINVAL. */
enum warden_job_fd_kind { WARDEN_FD_PID = 1, WARDEN_FD_END = 2 };
WARDEN_EXPORT int warden_job_fd(warden_job *job, int which);

/* Waits until the job has ended and its resources are released, for at
 * most timeout_ms milliseconds (-1: as long as it takes; 0: a check that
 * never blocks). WARDEN_OK when the result is there; WARDEN_ETIMEDOUT when
 * the job still runs. Waiting again, from any thread, returns WARDEN_OK
 * at once: the result does not change. */
WARDEN_EXPORT int warden_job_wait(warden_job *job, int timeout_ms);

/* Sends a signal: SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 go
 * to the job's process; SIGKILL ends every process of it; other signals:
 * WARDEN_EINVAL. A job that has ended: WARDEN_ESTATE. */
WARDEN_EXPORT int warden_job_kill(warden_job *job, int sig);

/* Stops the job as its wall-time limit would (SIGTERM to every process,
 * the policy's grace time, then SIGKILL); its status becomes
 * WARDEN_JOB_CANCELLED. A job that has ended: WARDEN_ESTATE. Cancelling
 * twice is no error. */
WARDEN_EXPORT int warden_job_cancel(warden_job *job);

/* ------------------------------------------------------------------------
 * Results
 *
 * Each getter needs the job to have ended (a warden_job_wait that returned
 * WARDEN_OK, or WARDEN_FD_END readable): before that, WARDEN_ESTATE.
 * ---------------------------------------------------------------------- */

/* How a job ended, as warden/job.h's JobStatus. */
enum warden_job_status {
  WARDEN_JOB_OK = 0,                /* exited with code 0 */
  WARDEN_JOB_NONZERO = 1,           /* exited with another code */
  WARDEN_JOB_SIGNALED = 2,          /* a signal killed it */
  WARDEN_JOB_TIMEOUT = 3,           /* killed at its wall-time limit */
  WARDEN_JOB_OOM = 4,               /* the kernel killed it at its memory limit */
  WARDEN_JOB_SECCOMP_VIOLATION = 5, /* the seccomp policy killed it */
  WARDEN_JOB_SETUP_ERROR = 6,       /* never ran: the result's error says why */
  WARDEN_JOB_CANCELLED = 7          /* warden_job_cancel stopped it */
};

WARDEN_EXPORT int warden_job_status(warden_job *job, int *status);

/* The status's name as the --result JSON writes it ("ok", "nonzero",
 * "signaled", "timeout", "oom", "seccomp-violation", "setup-error",
 * "cancelled"), or "unknown". A static string. */
WARDEN_EXPORT const char *warden_job_status_name(int status);

/* warden's exit code by the exit contract of `warden run` (the job's own
 * code when it exited, 128+N for signal N, 125 for a setup error, ...). */
WARDEN_EXPORT int warden_job_exit_code(warden_job *job, int *exit_code);

/* The whole result as `warden run --result` writes it: one JSON object,
 * NUL-terminated. The caller frees it with warden_free. */
WARDEN_EXPORT int warden_result_json(warden_job *job, char **json);

/* What the job wrote to WARDEN_STDOUT or WARDEN_STDERR under a capture
 * setting (empty otherwise): a copy of `*len` bytes, NUL-terminated (the
 * data may hold NUL bytes too), that the caller frees with warden_free.
 * Another stream number: WARDEN_EINVAL. */
WARDEN_EXPORT int warden_job_output(warden_job *job, int stream, char **data, size_t *len);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* WARDEN_WARDEN_H_ */
