/* The C read floor for bench/compare.sh: per pass, list PROCFS and open, read and close every PID/stat,
 * the least any per-process /proc reader does. Prints the CPU time (user + system) per pass in ms.
 * With INTERVAL (seconds), it sleeps that long between passes, as a sampler does: a pass then meets the
 * kernel's caches as cold as the agent's samples do, where back-to-back passes keep them warm. The user and
 * system parts follow in parentheses: nearly all of the floor is the kernel's. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double ms(struct timeval t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; }

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s PROCFS PASSES [INTERVAL]\n", argv[0]);
        return 2;
    }
    int passes = atoi(argv[2]);
    double interval = argc == 4 ? atof(argv[3]) : 0;
    char path[4096], buffer[4096];
    long files = 0, bytes = 0;
    struct rusage start, end;
    getrusage(RUSAGE_SELF, &start);
    for (int pass = 0; pass < passes; pass++) {
        DIR *dir = opendir(argv[1]);
        if (!dir) { perror(argv[1]); return 1; }
        struct dirent *entry;
        while ((entry = readdir(dir))) {
            if (!isdigit((unsigned char)entry->d_name[0])) continue;
            snprintf(path, sizeof path, "%s/%s/stat", argv[1], entry->d_name);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) continue;
            ssize_t n = read(fd, buffer, sizeof buffer);
            if (n > 0) { bytes += n; files++; }
            close(fd);
        }
        closedir(dir);
        if (interval > 0 && pass + 1 < passes) {
            struct timespec gap = { (time_t)interval, (long)((interval - (time_t)interval) * 1e9) };
            nanosleep(&gap, NULL);
        }
    }
    getrusage(RUSAGE_SELF, &end);
    double user = (ms(end.ru_utime) - ms(start.ru_utime)) / passes, system = (ms(end.ru_stime) - ms(start.ru_stime)) / passes;
    printf("%.3f ms/pass (user %.3f, system %.3f), %ld files/pass, %ld bytes/pass\n", user + system, user, system, files / passes, bytes / passes);
    return 0;
}
