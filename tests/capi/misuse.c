/* The misuse of warden.h that a C program can commit, run against the
 * installed libwarden.so. integration/embed.bats compiles it with
 *   cc -std=c11 -Wall -Werror -fsanitize=address,undefined
 * so that ASan, which takes over malloc and free for the whole process
 * (the library's own calls included), turns a double free or a touch of
 * freed memory inside the library into a failure.
 *
 * Every case must give its error code and no crash. Prints one line per
 * failed check and "misuse: N checks, F failed"; exits 1 when any failed.
 * The cases with a running job need root (the first argument "--no-jobs"
 * skips them). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <warden/warden.h>

static int checks, failures;

static void check(int ok, const char *what, int line) {
  ++checks;
  if (!ok) {
    ++failures;
    printf("FAILED line %d: %s (last error: %s)\n", line, what, warden_last_error());
  }
}
#define CHECK(cond) check((cond), #cond, __LINE__)

static void handles_without_jobs(void) {
  warden_launcher_options *options = NULL;
  warden_job_spec *spec = NULL;
  warden_launcher *launcher = NULL;
  warden_job *job = NULL;
  int value = 0;
  char *text = NULL;
  size_t len = 0;
  int local = 0;

  /* NULL handles. */
  CHECK(warden_free(NULL) == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_free(NULL) == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_free(NULL) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_free(NULL) == WARDEN_EBADHANDLE);
  CHECK(warden_job_free(NULL) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_policy(NULL, "default") == WARDEN_EBADHANDLE);
  CHECK(warden_job_start(NULL, NULL, &job) == WARDEN_EBADHANDLE);
  CHECK(warden_job_wait(NULL, -1) == WARDEN_EBADHANDLE);
  CHECK(warden_job_kill(NULL, SIGKILL) == WARDEN_EBADHANDLE);
  CHECK(warden_job_cancel(NULL) == WARDEN_EBADHANDLE);
  CHECK(warden_job_status(NULL, &value) == WARDEN_EBADHANDLE);
  CHECK(warden_job_exit_code(NULL, &value) == WARDEN_EBADHANDLE);
  CHECK(warden_result_json(NULL, &text) == WARDEN_EBADHANDLE);
  CHECK(warden_job_output(NULL, WARDEN_STDOUT, &text, &len) == WARDEN_EBADHANDLE);
  CHECK(warden_job_fd(NULL, WARDEN_FD_END) == WARDEN_EBADHANDLE);
  CHECK(warden_job_id(NULL) == NULL);
  CHECK(strstr(warden_last_error(), "NULL") != NULL);

  /* Double frees of each kind, by the typed function and by warden_free. */
  CHECK(warden_launcher_options_new(&options) == WARDEN_OK);
  CHECK(warden_launcher_options_free(options) == WARDEN_OK);
  CHECK(warden_launcher_options_free(options) == WARDEN_EBADHANDLE);
  CHECK(warden_free(options) == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_set_cache_dir(options, "/tmp") == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_new(&spec) == WARDEN_OK);
  CHECK(warden_free(spec) == WARDEN_OK);
  CHECK(warden_job_spec_free(spec) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_job_id(spec, "x") == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_new(NULL, &launcher) == WARDEN_OK);
  CHECK(warden_launcher_free(launcher) == WARDEN_OK);
  CHECK(warden_launcher_free(launcher) == WARDEN_EBADHANDLE);
  CHECK(warden_free(launcher) == WARDEN_EBADHANDLE);

  /* Foreign pointers and handles of another kind. */
  CHECK(warden_free(&local) == WARDEN_EBADHANDLE);
  text = malloc(16);
  CHECK(text != NULL && warden_free(text) == WARDEN_EBADHANDLE);
  free(text); /* still the caller's: warden_free refused it */
  text = NULL;
  CHECK(warden_job_wait((warden_job *)&local, 0) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_new(&spec) == WARDEN_OK);
  CHECK(warden_job_wait((warden_job *)spec, 0) == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_free((warden_launcher *)spec) == WARDEN_EBADHANDLE);

  /* Bad arguments on a live handle. */
  CHECK(warden_job_spec_set_stdio_null(spec, 3) == WARDEN_EINVAL);
  CHECK(warden_job_spec_set_stdio_capture(spec, WARDEN_STDIN, 0) == WARDEN_EINVAL);
  CHECK(warden_job_spec_set_stdio_fd(spec, -1, 0) == WARDEN_EINVAL);
  CHECK(warden_job_spec_set_argv(spec, 0, NULL) == WARDEN_EINVAL);
  CHECK(warden_job_spec_set_policy(spec, NULL) == WARDEN_EINVAL);
  CHECK(warden_job_spec_free(spec) == WARDEN_OK);
}

static void handles_with_jobs(void) {
  warden_launcher_options *options = NULL;
  warden_launcher *launcher = NULL;
  warden_job_spec *spec = NULL;
  warden_job *job = NULL;
  int status = -1, code = -1;
  char *json = NULL, *data = NULL;
  size_t len = 0;
  const char *sleep_argv[] = {"/bin/sleep", "1000"};
  const char *echo_argv[] = {"/bin/echo", "misuse"};
  const char *cache = getenv("WARDEN_CACHE_DIR");

  CHECK(warden_launcher_options_new(&options) == WARDEN_OK);
  if (cache != NULL) CHECK(warden_launcher_options_set_cache_dir(options, cache) == WARDEN_OK);
  CHECK(warden_launcher_new(options, &launcher) == WARDEN_OK);
  CHECK(warden_launcher_options_free(options) == WARDEN_OK);
  CHECK(warden_job_spec_new(&spec) == WARDEN_OK);

  /* A running job: results are not there yet. */
  CHECK(warden_job_spec_set_argv(spec, 2, sleep_argv) == WARDEN_OK);
  if (warden_job_start(launcher, spec, &job) != WARDEN_OK) {
    CHECK(!"warden_job_start of /bin/sleep");
  } else {
    CHECK(warden_job_status(job, &status) == WARDEN_ESTATE);
    CHECK(warden_result_json(job, &json) == WARDEN_ESTATE);
    CHECK(warden_job_output(job, WARDEN_STDOUT, &data, &len) == WARDEN_ESTATE);
    CHECK(warden_job_wait(job, 0) == WARDEN_ETIMEDOUT);
    CHECK(warden_job_cancel(job) == WARDEN_OK);
    CHECK(warden_job_wait(job, -1) == WARDEN_OK);
    CHECK(warden_job_wait(job, -1) == WARDEN_OK);
    CHECK(warden_job_status(job, &status) == WARDEN_OK && status == WARDEN_JOB_CANCELLED);
    /* Killing and cancelling an ended job. */
    CHECK(warden_job_kill(job, SIGKILL) == WARDEN_ESTATE);
    CHECK(warden_job_cancel(job) == WARDEN_ESTATE);
    CHECK(warden_job_free(job) == WARDEN_OK);
    CHECK(warden_job_free(job) == WARDEN_EBADHANDLE);
    CHECK(warden_free(job) == WARDEN_EBADHANDLE);
    CHECK(warden_job_wait(job, -1) == WARDEN_EBADHANDLE);
  }

  /* Strings: freed once, refused the second time. */
  CHECK(warden_job_spec_set_argv(spec, 2, echo_argv) == WARDEN_OK);
  CHECK(warden_job_spec_set_stdio_capture(spec, WARDEN_STDOUT, 0) == WARDEN_OK);
  job = NULL;
  if (warden_job_start(launcher, spec, &job) != WARDEN_OK) {
    CHECK(!"warden_job_start of /bin/echo");
  } else {
    CHECK(warden_job_wait(job, -1) == WARDEN_OK);
    CHECK(warden_job_exit_code(job, &code) == WARDEN_OK && code == 0);
    CHECK(warden_job_output(job, 0, &data, &len) == WARDEN_EINVAL);
    CHECK(warden_job_output(job, WARDEN_STDOUT, &data, &len) == WARDEN_OK);
    CHECK(len == 7 && memcmp(data, "misuse\n", 7) == 0);
    CHECK(warden_free(data) == WARDEN_OK);
    CHECK(warden_free(data) == WARDEN_EBADHANDLE);
    CHECK(warden_result_json(job, &json) == WARDEN_OK);
    CHECK(strstr(json, "\"status\"") != NULL);
    CHECK(warden_free(json) == WARDEN_OK);
    CHECK(warden_free(json) == WARDEN_EBADHANDLE);
    /* A job freed with warden_free, then its launcher: both gone once. */
    CHECK(warden_free(job) == WARDEN_OK);
    CHECK(warden_job_free(job) == WARDEN_EBADHANDLE);
  }
  CHECK(warden_job_spec_free(spec) == WARDEN_OK);
  CHECK(warden_launcher_free(launcher) == WARDEN_OK);
  CHECK(warden_launcher_free(launcher) == WARDEN_EBADHANDLE);
}

int main(int argc, char **argv) {
  CHECK(warden_abi_version() == WARDEN_ABI_VERSION);
  handles_without_jobs();
  if (!(argc > 1 && strcmp(argv[1], "--no-jobs") == 0)) handles_with_jobs();
  printf("misuse: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
