/* Tests of ota_store: digests against known vectors, layout, dedupe, errors, crash safety. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ota_store.h"
#include "ota_util.h"
#include "ota_test.h"

#define SKIP 77 /* meson's "skipped" exit code */

/* Expected digests from sha256sum, sha1sum, md5sum and b2sum of the same bytes. */
static const struct vector {
    const char *name;
    size_t size; /* of the pattern below */
    const char *sha256, *sha1, *md5, *blake2b;
} vectors[] = {
    { "empty", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "da39a3ee5e6b4b0d3255bfef95601890afd80709", "d41d8cd98f00b204e9800998ecf8427e",
      "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee5853138964449"
      "34eb04b903a685b1448b755d56f701afe9be2ce" },
    { "1 MiB pattern", 1048576, "1f8647d4cd2f7594c35c413e582e01089c00929dd4239eddd5ded3d40f325d53",
      "a7ccc30ac12dc8d83d6f612100bc4fc6ed0c5a12", "85bfb9943e6f0cb09f0f52679e9eac2b",
      "14a90836fdaeba2b71e55bef6dc9641f0d6858afb818a2ce2cd6348dc4a6e0e75100428d6f933060c61ffa7d0"
      "a6424a9ed6d634e42b932212e7103760474108c" },
    { "3 MiB + 12345 pattern", 3 * 1048576 + 12345,
      "64d330190774798f8c99ed0a1583a5fa9fadb73197307eed9572a8a347348230",
      "3d991aad52bd7f774d7a793dca3f8438866cfe1e", "033143d6fa7140dc958d6aca00033888",
      "4ca401c6d6e76d08fce3c551dd8d476dac388dcdfb681e876ab2b38613a58276677ce111c78f4653b605022af"
      "3e38d0b1401c01426d8e1932a13d6b4b5b4b719" },
};

static uint8_t pattern_byte(size_t i)
{
    return (uint8_t)(i * 7 + (i >> 8));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes @size pattern bytes to a new file and returns it open for reading. */
static int pattern_file(const char *dir, const char *name, size_t size)
{
    char path[512];
    uint8_t buf[4096];
    FILE *f;
    int fd;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f)
        return -1;
    for (size_t off = 0; off < size;) {
        size_t n = size - off < sizeof buf ? size - off : sizeof buf;

        for (size_t i = 0; i < n; i++)
            buf[i] = pattern_byte(off + i);
        if (fwrite(buf, 1, n, f) != n)
            break;
        off += n;
    }
    if (fclose(f) != 0)
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd;
}

/* Counts the files below @dir (recursively), folders not counted. */
static int count_files(const char *dir)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d))) {
        char path[1024];
        struct stat st;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_files(path);
        else
            n++;
    }
    closedir(d);
    return n;
}

static int count_in(const char *store, const char *sub)
{
    char path[512];

    snprintf(path, sizeof path, "%s/%s", store, sub);
    return count_files(path);
}

static int digests_match(const struct ota_store_digests *d, const struct vector *v)
{
    char b2[129];

    ota_hex(d->blake2b, sizeof d->blake2b, b2);
    return d->size == v->size && strcmp(d->sha256, v->sha256) == 0 &&
           strcmp(d->sha1, v->sha1) == 0 && strcmp(d->md5, v->md5) == 0 &&
           strcmp(b2, v->blake2b) == 0;
}

struct progress {
    uint64_t calls, last_done, last_total;
    int backwards;
};

static int on_progress(uint64_t done, uint64_t total, void *ctx)
{
    struct progress *p = ctx;

    if (done < p->last_done)
        p->backwards++;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
    return 0;
}

static void test_vectors(const char *tmp, const char *store)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const struct vector *v = &vectors[i];
        struct ota_store_digests d, h;
        struct progress prog = { 0 };
        char name[32], path[512];
        struct stat st;
        int fd, sfd;

        snprintf(name, sizeof name, "vec%zu", i);
        fd = pattern_file(tmp, name, v->size);
        CHECK(fd >= 0);
        memset(&d, 0, sizeof d);
        CHECK_RC(ota_store_ingest_fd(store, fd, on_progress, &prog, &d), 0);
        if (!digests_match(&d, v)) {
            fprintf(stderr, "vector '%s': digests differ (sha256 %s)\n", v->name, d.sha256);
            ota_test_failures++;
        }
        CHECK(prog.backwards == 0 && prog.last_done == v->size);
        CHECK(v->size == 0 || prog.last_total == v->size);
        /* hash_fd gives the same digests without storing. */
        CHECK(lseek(fd, 0, SEEK_SET) == 0);
        memset(&h, 0, sizeof h);
        CHECK_RC(ota_store_hash_fd(fd, &h), 0);
        CHECK(memcmp(&h, &d, sizeof h) == 0);
        close(fd);

        /* The file sits at sha256/<2>/<64>, read-only, with the same bytes. */
        CHECK_RC(ota_store_path(store, v->sha256, path, sizeof path), 0);
        snprintf(name, sizeof name, "/sha256/%.2s/", v->sha256);
        CHECK(strstr(path, name) != NULL);
        CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0444 &&
              (uint64_t)st.st_size == v->size);
        sfd = ota_store_open(store, v->sha256);
        CHECK(sfd >= 0);
        if (sfd >= 0) {
            CHECK_RC(ota_store_hash_fd(sfd, &h), 0);
            CHECK(digests_match(&h, v));
            close(sfd);
        }
    }
    CHECK(count_in(store, "sha256") == (int)(sizeof vectors / sizeof vectors[0]));
    CHECK(count_in(store, "tmp") == 0);
}

static void test_dedupe(const char *tmp, const char *store)
{
    const struct vector *v = &vectors[2];
    struct ota_store_digests d;
    char path[512];
    int before = count_in(store, "sha256");
    int fd, pfd[2];
    pid_t pid;

    /* The same bytes again, from a pipe this time (short reads, no size known). */
    CHECK(pipe(pfd) == 0);
    pid = fork();
    if (pid == 0) {
        uint8_t buf[7000];

        close(pfd[0]);
        for (size_t off = 0; off < v->size;) {
            size_t n = v->size - off < sizeof buf ? v->size - off : sizeof buf;

            for (size_t i = 0; i < n; i++)
                buf[i] = pattern_byte(off + i);
            if (write(pfd[1], buf, n) != (ssize_t)n)
                _exit(1);
            off += n;
        }
        _exit(0);
    }
    close(pfd[1]);
    CHECK_RC(ota_store_ingest_fd(store, pfd[0], NULL, NULL, &d), 0);
    close(pfd[0]);
    waitpid(pid, NULL, 0);
    CHECK(digests_match(&d, v));
    CHECK(count_in(store, "sha256") == before);
    CHECK(count_in(store, "tmp") == 0);

    /* A damaged copy under the right name (wrong size) is replaced, not kept. */
    CHECK_RC(ota_store_path(store, v->sha256, path, sizeof path), 0);
    CHECK(truncate(path, 100) == 0);
    fd = pattern_file(tmp, "again", v->size);
    CHECK_RC(ota_store_ingest_fd(store, fd, NULL, NULL, &d), 0);
    close(fd);
    fd = ota_store_open(store, v->sha256);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK_RC(ota_store_hash_fd(fd, &d), 0);
        CHECK(digests_match(&d, v));
        close(fd);
    }
    CHECK(count_in(store, "sha256") == before);
    CHECK(count_in(store, "tmp") == 0);
}

static void test_errors(const char *tmp, const char *store)
{
    struct ota_store_digests d;
    char path[512], big[4200];
    int before = count_in(store, "sha256");
    int fd;

    /* Read errors: a folder, a closed fd, a write-only fd. Nothing visible afterwards. */
    fd = open(tmp, O_RDONLY | O_DIRECTORY);
    CHECK_RC(ota_store_ingest_fd(store, fd, NULL, NULL, &d), -EISDIR);
    CHECK_RC(ota_store_hash_fd(fd, &d), -EISDIR);
    close(fd);
    CHECK_RC(ota_store_ingest_fd(store, fd, NULL, NULL, &d), -EBADF);
    CHECK_RC(ota_store_hash_fd(fd, &d), -EBADF);
    snprintf(path, sizeof path, "%s/wronly", tmp);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && write(fd, "x", 1) == 1);
    CHECK_RC(ota_store_ingest_fd(store, fd, NULL, NULL, &d), -EBADF);
    close(fd);
    CHECK(count_in(store, "sha256") == before);
    CHECK(count_in(store, "tmp") == 0);

    /* No store (never initialised) is -ENOENT. */
    snprintf(path, sizeof path, "%s/no-store", tmp);
    fd = pattern_file(tmp, "small", 10);
    CHECK_RC(ota_store_ingest_fd(path, fd, NULL, NULL, &d), -ENOENT);
    close(fd);

    /* Paths. */
    CHECK_RC(ota_store_path(store, "abc", path, sizeof path), -EINVAL);
    CHECK_RC(ota_store_path(store, NULL, path, sizeof path), -EINVAL);
    CHECK_RC(ota_store_path(store, vectors[0].sha256, path, 20), -ENAMETOOLONG);
    CHECK_RC(ota_store_path(store,
                            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                            path, sizeof path),
             -EINVAL);
    CHECK_RC(
        ota_store_open(store, "0000000000000000000000000000000000000000000000000000000000000000"),
        -ENOENT);
    CHECK_RC(ota_store_open(store, "../../etc/passwd"), -EINVAL);
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_RC(ota_store_init(big), -ENAMETOOLONG);
}

static void test_init(const char *tmp)
{
    char store[512], path[600];
    struct timespec old[2] = { { time(NULL) - 7200, 0 }, { time(NULL) - 7200, 0 } };
    struct stat st;
    int fd;

    snprintf(store, sizeof store, "%s/s2", tmp);
    CHECK_RC(ota_store_init(store), 0);
    CHECK_RC(ota_store_init(store), 0); /* idempotent */
    snprintf(path, sizeof path, "%s/sha256", store);
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    snprintf(path, sizeof path, "%s/tmp", store);
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));

    /* Stale ingest temp files (over an hour old) go; fresh ones and others stay. */
    snprintf(path, sizeof path, "%s/tmp/ingest.old123", store);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    CHECK(fd >= 0 && futimens(fd, old) == 0);
    close(fd);
    snprintf(path, sizeof path, "%s/tmp/ingest.new123", store);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    close(fd);
    snprintf(path, sizeof path, "%s/tmp/unrelated", store);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    CHECK(fd >= 0 && futimens(fd, old) == 0);
    close(fd);
    CHECK_RC(ota_store_init(store), 0);
    snprintf(path, sizeof path, "%s/tmp/ingest.old123", store);
    CHECK(access(path, F_OK) != 0);
    snprintf(path, sizeof path, "%s/tmp/ingest.new123", store);
    CHECK(access(path, F_OK) == 0);
    snprintf(path, sizeof path, "%s/tmp/unrelated", store);
    CHECK(access(path, F_OK) == 0);

    snprintf(path, sizeof path, "%s/missing/parent/store", tmp);
    CHECK_RC(ota_store_init(path), -ENOENT);
}

/* kill -9 during an upload: only a temp file may remain, never a visible artifact. */
static void test_kill(const char *store)
{
    int before = count_in(store, "sha256");
    int pfd[2], status = 0;
    uint8_t buf[65536];
    pid_t pid;

    CHECK(pipe(pfd) == 0);
    pid = fork();
    if (pid == 0) {
        struct ota_store_digests d;

        close(pfd[1]);
        ota_store_ingest_fd(store, pfd[0], NULL, NULL, &d);
        _exit(0);
    }
    close(pfd[0]);
    memset(buf, 0x5a, sizeof buf);
    for (int i = 0; i < 64; i++) /* 4 MiB: the child is mid-copy (the pipe stays open) */
        if (write(pfd[1], buf, sizeof buf) != (ssize_t)sizeof buf)
            break;
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    close(pfd[1]);
    CHECK(WIFSIGNALED(status));
    CHECK(count_in(store, "sha256") == before);
    CHECK(count_in(store, "tmp") <= 1);
}

/* A full filesystem: -ENOSPC, and nothing left behind. Needs a small tmpfs (root). */
static int test_enospc(const char *tmp)
{
    char mnt[512], store[600];
    struct ota_store_digests d;
    int fd, r = 0;

    snprintf(mnt, sizeof mnt, "%s/mnt", tmp);
    CHECK(mkdir(mnt, 0700) == 0);
    if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") != 0) {
        fprintf(stderr, "cannot mount a tmpfs (%s): ENOSPC case skipped\n", strerror(errno));
        return SKIP;
    }
    snprintf(store, sizeof store, "%s/store", mnt);
    CHECK_RC(ota_store_init(store), 0);
    fd = pattern_file(tmp, "twomeg", 2 * 1048576);
    CHECK_RC(ota_store_ingest_fd(store, fd, NULL, NULL, &d), -ENOSPC);
    close(fd);
    CHECK(count_in(store, "sha256") == 0);
    CHECK(count_in(store, "tmp") == 0);
    /* A small one still fits afterwards: the space was given back. */
    fd = pattern_file(tmp, "small", 1000);
    CHECK_RC(ota_store_ingest_fd(store, fd, NULL, NULL, &d), 0);
    close(fd);
    CHECK(count_in(store, "sha256") == 1);
    if (umount(mnt) != 0) {
        fprintf(stderr, "umount %s: %s\n", mnt, strerror(errno));
        r = -1;
    }
    return r;
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/test_store.XXXXXX";
    char store[64];
    int r = 0;

    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "enospc") == 0) {
        r = test_enospc(tmp);
    } else {
        snprintf(store, sizeof store, "%s/store", tmp);
        {
            struct ota_store_digests d;
            int fd = pattern_file(tmp, "first", 10);

            CHECK_RC(ota_store_ingest_fd(store, fd, NULL, NULL, &d), -ENOENT); /* before init */
            close(fd);
        }
        CHECK_RC(ota_store_init(store), 0);
        test_vectors(tmp, store);
        test_dedupe(tmp, store);
        test_errors(tmp, store);
        test_kill(store);
        test_init(tmp);
    }
    rm_rf(tmp);
    if (r == SKIP)
        return SKIP;
    if (ota_test_failures || r != 0) {
        fprintf(stderr, "%d check(s) failed\n", ota_test_failures);
        return 1;
    }
    printf("all ota_store checks passed\n");
    return 0;
}
