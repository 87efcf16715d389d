/* jobs.c: 100 sandboxed jobs started concurrently from 4 threads through
 * warden's C interface (warden/warden.h). Each job runs `/bin/echo N`
 * under the default policy with its stdout captured; the program prints
 * each job's status, exit code and output, in order, and exits 1 when any
 * job did not end "ok" with its own number as output.
 *
 *   cc -std=c11 -o jobs jobs.c $(pkg-config --cflags --libs warden) -lpthread
 *   sudo ./jobs [COUNT]
 *
 * WARDEN_CACHE_DIR, when set, is where the launcher keeps its caches (the
 * library reads no environment variable itself; this program passes it). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <warden/warden.h>

enum { kThreads = 4, kMaxJobs = 10000 };

struct outcome {
  int rc;      /* WARDEN_OK, or the error of a call that failed */
  int status;  /* enum warden_job_status */
  int exit_code;
  char output[32];
  char error[256];
};

static warden_launcher *launcher;
static int job_count = 100;
static struct outcome *outcomes;

static void record_error(struct outcome *o, int rc) {
  o->rc = rc;
  snprintf(o->error, sizeof o->error, "%s", warden_last_error());
}

/* The result of a job that ended, into its outcome. */
static void collect(warden_job *job, struct outcome *o) {
  char *out = NULL;
  size_t len = 0;
  int rc = warden_job_wait(job, -1);
  if (rc == WARDEN_OK) rc = warden_job_status(job, &o->status);
  if (rc == WARDEN_OK) rc = warden_job_exit_code(job, &o->exit_code);
  if (rc == WARDEN_OK) rc = warden_job_output(job, WARDEN_STDOUT, &out, &len);
  if (rc != WARDEN_OK) {
    record_error(o, rc);
    return;
  }
  snprintf(o->output, sizeof o->output, "%.*s", (int)(len < 31 ? len : 31), out);
  o->output[strcspn(o->output, "\n")] = '\0';
  warden_free(out);
}

/* Thread `index` starts jobs index, index+4, ... without waiting, then
 * waits for each: every thread's jobs run at the same time. */
static void *run_jobs(void *arg) {
  const int index = (int)(long)arg;
  const int mine = (job_count - index + kThreads - 1) / kThreads;
  warden_job **jobs = calloc((size_t)mine, sizeof *jobs);
  warden_job_spec *spec = NULL;
  if (jobs == NULL || warden_job_spec_new(&spec) != WARDEN_OK) {
    fprintf(stderr, "jobs: thread %d: out of memory\n", index);
    exit(2);
  }
  warden_job_spec_set_stdio_capture(spec, WARDEN_STDOUT, 64);
  for (int k = 0; k < mine; ++k) {
    const int n = index + k * kThreads;
    char number[16];
    snprintf(number, sizeof number, "%d", n);
    const char *argv[] = {"/bin/echo", number};
    int rc = warden_job_spec_set_argv(spec, 2, argv);
    if (rc == WARDEN_OK) rc = warden_job_start(launcher, spec, &jobs[k]);
    if (rc != WARDEN_OK) record_error(&outcomes[n], rc);
  }
  warden_job_spec_free(spec);
  for (int k = 0; k < mine; ++k) {
    if (jobs[k] == NULL) continue;
    collect(jobs[k], &outcomes[index + k * kThreads]);
    warden_job_free(jobs[k]);
  }
  free(jobs);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1) job_count = atoi(argv[1]);
  if (job_count < 1 || job_count > kMaxJobs) {
    fprintf(stderr, "usage: jobs [COUNT], COUNT from 1 to %d\n", kMaxJobs);
    return 2;
  }
  if (warden_abi_version() != WARDEN_ABI_VERSION) {
    fprintf(stderr, "jobs: libwarden speaks interface %d, this program %d\n",
            warden_abi_version(), WARDEN_ABI_VERSION);
    return 2;
  }
  warden_launcher_options *options = NULL;
  if (warden_launcher_options_new(&options) != WARDEN_OK) return 2;
  const char *cache = getenv("WARDEN_CACHE_DIR");
  if (cache != NULL) warden_launcher_options_set_cache_dir(options, cache);
  int rc = warden_launcher_new(options, &launcher);
  warden_launcher_options_free(options);
  if (rc != WARDEN_OK) {
    fprintf(stderr, "jobs: %s\n", warden_last_error());
    return 2;
  }
  outcomes = calloc((size_t)job_count, sizeof *outcomes);
  if (outcomes == NULL) return 2;

  pthread_t threads[kThreads];
  for (long t = 0; t < kThreads; ++t) pthread_create(&threads[t], NULL, run_jobs, (void *)t);
  for (int t = 0; t < kThreads; ++t) pthread_join(threads[t], NULL);

  int ok = 0;
  for (int n = 0; n < job_count; ++n) {
    const struct outcome *o = &outcomes[n];
    char expected[16];
    snprintf(expected, sizeof expected, "%d", n);
    if (o->rc != WARDEN_OK) {
      printf("job %d: %s: %s\n", n, warden_error_name(o->rc), o->error);
      continue;
    }
    const int good = o->status == WARDEN_JOB_OK && strcmp(o->output, expected) == 0;
    ok += good;
    printf("job %d: %s exit %d output %s\n", n, warden_job_status_name(o->status), o->exit_code,
           o->output);
  }
  printf("%d jobs, %d ok\n", job_count, ok);
  free(outcomes);
  warden_launcher_free(launcher);
  return ok == job_count ? 0 : 1;
}
