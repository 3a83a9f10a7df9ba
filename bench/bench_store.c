/* Benchmark: ota_store ingest (copy + fsync + four digests) against `sha256sum` on one file. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ota_store.h"
#include "ota_util.h"

#define RUNS_MAX 15

extern char **environ;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Wall time of `sha256sum FILE` (output discarded), or a negative value on failure. */
static double time_sha256sum(const char *file)
{
    char *argv[] = { "sha256sum", (char *)file, NULL };
    posix_spawn_file_actions_t fa;
    double t0 = now_s();
    int status = 0;
    pid_t pid;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&pid, "sha256sum", &fa, NULL, argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return now_s() - t0;
}

static double cpu_s(int who)
{
    struct rusage ru;

    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    double t_sum[RUNS_MAX], t_ingest[RUNS_MAX], t_hash[RUNS_MAX];
    double c_sum[RUNS_MAX], c_ingest[RUNS_MAX];
    char store[4096], path[4200];
    struct ota_store_digests d;
    struct rusage ru;
    const char *file = NULL;
    uint64_t runs = 5;
    int r, fd;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            if (ota_parse_u64(argv[++i], RUNS_MAX, &runs) < 0 || runs == 0) {
                fprintf(stderr, "--runs: 1..%d\n", RUNS_MAX);
                return 2;
            }
        } else if (!file && argv[i][0] != '-') {
            file = argv[i];
        } else {
            file = NULL;
            break;
        }
    }
    if (!file) {
        fprintf(stderr,
                "usage: %s FILE [--runs N]\n"
                "Times sha256sum FILE against ota_store_ingest_fd() of FILE into a store\n"
                "made next to it (same filesystem), N runs each, and prints medians.\n",
                argv[0]);
        return 2;
    }
    snprintf(store, sizeof store, "%s.bench-store.XXXXXX", file);
    if (!mkdtemp(store)) {
        perror("mkdtemp");
        return 1;
    }
    r = ota_store_init(store);
    if (r < 0) {
        fprintf(stderr, "ota_store_init: %s\n", strerror(-r));
        return 1;
    }

    for (int i = 0; i < (int)runs; i++) {
        double t0, c0 = cpu_s(RUSAGE_CHILDREN);

        t_sum[i] = time_sha256sum(file);
        c_sum[i] = cpu_s(RUSAGE_CHILDREN) - c0;
        if (t_sum[i] < 0) {
            fprintf(stderr, "sha256sum failed\n");
            return 1;
        }
        fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            perror(file);
            return 1;
        }
        c0 = cpu_s(RUSAGE_SELF);
        t0 = now_s();
        r = ota_store_ingest_fd(store, fd, NULL, NULL, &d);
        t_ingest[i] = now_s() - t0;
        c_ingest[i] = cpu_s(RUSAGE_SELF) - c0;
        if (r < 0) {
            fprintf(stderr, "ingest: %s\n", strerror(-r));
            return 1;
        }
        /* Drop the stored copy so that every run writes (no dedupe shortcut). */
        if (ota_store_path(store, d.sha256, path, sizeof path) == 0)
            unlink(path);
        if (lseek(fd, 0, SEEK_SET) != 0) {
            perror("lseek");
            return 1;
        }
        t0 = now_s();
        r = ota_store_hash_fd(fd, &d);
        t_hash[i] = now_s() - t0;
        close(fd);
        if (r < 0) {
            fprintf(stderr, "hash: %s\n", strerror(-r));
            return 1;
        }
        printf("run %d: sha256sum %.3f s (cpu %.3f), ingest %.3f s (cpu %.3f), ratio %.2f, "
               "hash only %.3f s\n",
               i + 1, t_sum[i], c_sum[i], t_ingest[i], c_ingest[i], t_ingest[i] / t_sum[i],
               t_hash[i]);
        fflush(stdout);
    }
    getrusage(RUSAGE_SELF, &ru);
    {
        double ms = median(t_sum, (int)runs), mi = median(t_ingest, (int)runs);
        double mh = median(t_hash, (int)runs);

        printf("size %" PRIu64 " bytes, sha256 %s\n", d.size, d.sha256);
        printf(
            "median: sha256sum %.3f s (%.0f MB/s), ingest %.3f s (%.0f MB/s), hash only %.3f s\n",
            ms, (double)d.size / ms / 1e6, mi, (double)d.size / mi / 1e6, mh);
        printf("ingest/sha256sum ratio %.2f (of medians); CPU: sha256sum %.3f s, ingest %.3f s "
               "(on 2 cores); peak RSS %ld KiB\n",
               mi / ms, median(c_sum, (int)runs), median(c_ingest, (int)runs), ru.ru_maxrss);
    }
    nftw(store, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
