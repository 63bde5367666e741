/* Makes a synthetic host tree live for bench/compare.sh (LIVE_PERCENT): every INTERVAL seconds, ACTIVE_PERCENT
 * of the processes (a different slice each time) gain one clock tick of CPU time, /proc/stat's busy and idle
 * ticks advance, and each RAPL zone counts 40 W (dram 4 W). So each of the agent's samples has processes that used
 * CPU, energy to divide among them, and series to export, as on a busy host, instead of a tree that never moves.
 *
 *   live-writer PROCFS SYSFS INTERVAL ACTIVE_PERCENT SECONDS
 *
 * Each file is kept open and rewritten in place from its start (pwrite), as the kernel regenerates a procfs file:
 * its inode and dentry stay what the readers opened last time, and a write costs one system call, not a create
 * and a rename. Counters only grow, so a file never shrinks and needs no truncation. It stops after SECONDS or on
 * SIGTERM, and then prints its own CPU time per round: it runs beside the agent, not in it. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;                 /* PROCFS/PID/stat, open for writing */
    char head[1024];        /* fields 1 to 13, with the space after field 13 */
    unsigned long long utime;
    char tail[1024];        /* from the space before field 15 to the end */
} process_t;

typedef struct {
    int fd;                 /* energy_uj, open for writing */
    unsigned long long microjoules;
    unsigned long long per_interval;
} zone_t;

static int open_for_rewrite(const char *path) {
    return open(path, O_WRONLY | O_CLOEXEC);
}

static int rewrite(int fd, const char *contents, size_t length) {
    return pwrite(fd, contents, length, 0) == (ssize_t)length ? 0 : -1;
}

static int read_file(const char *path, char *buffer, size_t size) {
    FILE *file = fopen(path, "r");
    if (!file) return -1;
    size_t n = fread(buffer, 1, size - 1, file);
    fclose(file);
    buffer[n] = 0;
    return (int)n;
}

/* Splits a stat line around utime (field 14): the comm in parentheses may hold spaces, so fields are counted
 * from the last ')'. */
static int split_stat(const char *line, process_t *process) {
    const char *close_paren = strrchr(line, ')');
    if (!close_paren) return -1;
    const char *cursor = close_paren + 1; /* " S 1 ..." : field 3 starts after the space */
    int field = 2;
    while (*cursor && field < 13) {
        if (*cursor == ' ') field++;
        cursor++;
    }
    /* cursor is at the start of field 13; skip it and its space */
    while (*cursor && *cursor != ' ') cursor++;
    if (*cursor != ' ') return -1;
    cursor++;
    size_t head_length = (size_t)(cursor - line);
    if (head_length >= sizeof process->head) return -1;
    memcpy(process->head, line, head_length);
    process->head[head_length] = 0;
    char *end;
    process->utime = strtoull(cursor, &end, 10);
    if (end == cursor || strlen(end) >= sizeof process->tail) return -1;
    strcpy(process->tail, end);
    return 0;
}

static volatile sig_atomic_t stopping;

static void stop(int signal_number) {
    (void)signal_number;
    stopping = 1;
}

static double cpu_ms(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s PROCFS SYSFS INTERVAL ACTIVE_PERCENT SECONDS\n", argv[0]);
        return 2;
    }
    const char *procfs = argv[1], *sysfs = argv[2];
    double interval = atof(argv[3]), seconds = atof(argv[5]);
    int percent = atoi(argv[4]);
    if (interval <= 0 || seconds <= 0 || percent < 0 || percent > 100) {
        fprintf(stderr, "%s: INTERVAL and SECONDS must be positive and ACTIVE_PERCENT from 0 to 100\n", argv[0]);
        return 2;
    }

    /* One descriptor per process: 10,000 processes need more than the usual soft limit of 1,024. */
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }

    size_t capacity = 1024, count = 0;
    process_t *processes = malloc(capacity * sizeof *processes);
    DIR *dir = opendir(procfs);
    if (!dir) { perror(procfs); return 1; }
    struct dirent *entry;
    char line[4096];
    while ((entry = readdir(dir))) {
        if (!isdigit((unsigned char)entry->d_name[0])) continue;
        if (count == capacity) processes = realloc(processes, (capacity *= 2) * sizeof *processes);
        process_t *process = &processes[count];
        char path[4096];
        snprintf(path, sizeof path, "%s/%s/stat", procfs, entry->d_name);
        if (read_file(path, line, sizeof line) <= 0 || split_stat(line, process) != 0
            || (process->fd = open_for_rewrite(path)) < 0) {
            fprintf(stderr, "%s: not a writable stat line, left alone\n", path);
            continue;
        }
        count++;
    }
    closedir(dir);

    /* /proc/stat: the first line's user (field 2) and idle (field 5) ticks advance; the rest stays. */
    char stat_path[4096], stat_rest[65536];
    int stat_fd;
    unsigned long long busy = 0, idle = 0;
    int cpus = 0;
    snprintf(stat_path, sizeof stat_path, "%s/stat", procfs);
    {
        static char contents[65536];
        if (read_file(stat_path, contents, sizeof contents) <= 0) { perror(stat_path); return 1; }
        char *newline = strchr(contents, '\n');
        if (!newline || sscanf(contents, "cpu %llu %*u %*u %llu", &busy, &idle) != 2) {
            fprintf(stderr, "%s: no 'cpu' line\n", stat_path);
            return 1;
        }
        strcpy(stat_rest, newline + 1);
        /* The cpuN lines count the CPUs, whose time the idle ticks fill. */
        for (const char *at = stat_rest; at && *at; at = strchr(at, '\n'), at = at ? at + 1 : NULL) {
            if (strncmp(at, "cpu", 3) == 0) cpus++;
        }
        if (cpus == 0) cpus = 1;
        if ((stat_fd = open_for_rewrite(stat_path)) < 0) { perror(stat_path); return 1; }
    }

    zone_t zones[64];
    int zone_count = 0;
    char powercap[2048];
    snprintf(powercap, sizeof powercap, "%s/class/powercap", sysfs);
    if ((dir = opendir(powercap))) {
        while ((entry = readdir(dir)) && zone_count < 64) {
            if (strncmp(entry->d_name, "intel-rapl:", 11) != 0) continue;
            zone_t *zone = &zones[zone_count];
            char energy_path[4096], name_path[4096], name[256];
            snprintf(energy_path, sizeof energy_path, "%s/%s/energy_uj", powercap, entry->d_name);
            snprintf(name_path, sizeof name_path, "%s/%s/name", powercap, entry->d_name);
            if (read_file(energy_path, line, sizeof line) <= 0 || (zone->fd = open_for_rewrite(energy_path)) < 0) continue;
            zone->microjoules = strtoull(line, NULL, 10);
            double watts = read_file(name_path, name, sizeof name) > 0 && strncmp(name, "dram", 4) == 0 ? 4 : 40;
            zone->per_interval = (unsigned long long)(watts * interval * 1e6);
            zone_count++;
        }
        closedir(dir);
    }

    size_t active = count * (size_t)percent / 100, next = 0;
    long hz = sysconf(_SC_CLK_TCK);
    unsigned long long capacity_ticks = (unsigned long long)(cpus * interval * hz + 0.5);
    struct timespec due;
    clock_gettime(CLOCK_MONOTONIC, &due);
    long rounds = (long)(seconds / interval), failures = 0, round;
    struct sigaction on_term = { .sa_handler = stop };
    sigaction(SIGTERM, &on_term, NULL);
    sigaction(SIGINT, &on_term, NULL);
    double start = cpu_ms();
    for (round = 0; round < rounds && !stopping; round++) {
        for (size_t i = 0; i < active; i++, next = (next + 1) % count) {
            process_t *process = &processes[next];
            process->utime++;
            int length = snprintf(line, sizeof line, "%s%llu%s", process->head, process->utime, process->tail);
            if (rewrite(process->fd, line, (size_t)length) != 0) failures++;
        }
        busy += active;
        idle += capacity_ticks > active ? capacity_ticks - active : 0;
        {
            static char contents[70000];
            int length = snprintf(contents, sizeof contents, "cpu  %llu 0 0 %llu 0 0 0 0 0 0\n%s", busy, idle, stat_rest);
            if (rewrite(stat_fd, contents, (size_t)length) != 0) failures++;
        }
        for (int z = 0; z < zone_count; z++) {
            zones[z].microjoules += zones[z].per_interval;
            int length = snprintf(line, sizeof line, "%llu\n", zones[z].microjoules);
            if (rewrite(zones[z].fd, line, (size_t)length) != 0) failures++;
        }

        long nanoseconds = due.tv_nsec + (long)(interval * 1e9);
        due.tv_sec += nanoseconds / 1000000000L;
        due.tv_nsec = nanoseconds % 1000000000L;
        while (!stopping && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR) {}
    }
    printf("%.3f ms/round, %zu of %zu processes active per round, %d zones, %ld failed writes\n",
           round ? (cpu_ms() - start) / round : 0, active, count, zone_count, failures);
    return failures ? 1 : 0;
}
