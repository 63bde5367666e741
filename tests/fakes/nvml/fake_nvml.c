/*
 * A stand-in libnvidia-ml.so.1 for OtelPower's tests: the NVML calls the agent makes, answered from a
 * script file instead of a driver. See README.md beside this file for the script format.
 *
 *   gcc -shared -fPIC -O1 -o libnvidia-ml.so.1 fake_nvml.c
 *   gcc -shared -fPIC -O1 -DFAKE_NVML_OLD_DRIVER -o libnvidia-ml.so.1 fake_nvml.c
 *
 * The second build leaves out nvmlDeviceGetTotalEnergyConsumption and nvmlDeviceGetProcessUtilization,
 * as a driver older than Volta support does. Not thread-safe: the agent reads NVML from one thread.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define EXPORT __attribute__((visibility("default")))

typedef int nvmlReturn_t;
enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_GPU_IS_LOST = 15,
};

#define MAX_GPUS 16
#define MAX_MIG 8
#define MAX_MIG_PIDS 32
#define MAX_PROCS 512
#define MAX_SAMPLES 2048
#define GPU_MAGIC 0x47505531u
#define MIG_MAGIC 0x4d494731u

struct fake_gpu {
    unsigned magic;
    char uuid[96];
    char name[96];
    unsigned long long energy_mj;
    unsigned power_mw;
    int counter;
    int lost;
    int procutil;
    unsigned util;
    unsigned mem_util;
    unsigned long long mem_used;
    unsigned long long mem_total;
    int mig;
    unsigned max_mig;
    int stride;
    unsigned long long last_seen; /* the lastSeenTimeStamp of the latest nvmlDeviceGetProcessUtilization */
};

struct fake_mig {
    unsigned magic;
    int present;
    unsigned gpu;
    unsigned slices;
    unsigned ci_slices;
    unsigned pids[MAX_MIG_PIDS];
    unsigned npids;
};

struct fake_proc {
    unsigned gpu;
    unsigned pid;
    int graphics;
    unsigned long long mem;
};

#define TS_NOW ULLONG_MAX

struct fake_sample {
    unsigned gpu;
    unsigned pid;
    unsigned long long ts;
    unsigned sm, mem, enc, dec;
};

typedef struct fake_gpu *nvmlDevice_t;

typedef struct {
    unsigned int pid;
    unsigned long long timeStamp;
    unsigned int smUtil, memUtil, encUtil, decUtil;
} nvmlProcessUtilizationSample_t;

typedef struct {
    unsigned int gpu;
    unsigned int memory;
} nvmlUtilization_t;

typedef struct {
    unsigned long long total, free, used;
} nvmlMemory_t;

typedef struct {
    unsigned int multiprocessorCount, sharedCopyEngineCount, sharedDecoderCount, sharedEncoderCount;
    unsigned int sharedJpgCount, sharedOfaCount, gpuInstanceSliceCount, computeInstanceSliceCount;
    unsigned long long memorySizeMB;
} nvmlDeviceAttributes_t;

static struct {
    int initialized; /* nvmlInit_v2 minus nvmlShutdown calls */
    int script_present;
    int init_fail;
    char driver[80];
    struct fake_gpu gpus[MAX_GPUS];
    unsigned ngpus;
    struct fake_mig migs[MAX_GPUS][MAX_MIG];
    struct fake_proc procs[MAX_PROCS];
    unsigned nprocs;
    struct fake_sample samples[MAX_SAMPLES];
    unsigned nsamples;
    struct stat seen;
    int seen_valid;
} S;

static const char *script_path(void)
{
    static char beside[PATH_MAX];
    const char *env = getenv("FAKE_NVML_SCRIPT");
    if (env != NULL && env[0] != '\0') {
        return env;
    }
    /* In-process tests cannot set the native environment from .NET: the script lies beside the library. */
    Dl_info info;
    if (beside[0] == '\0' && dladdr((void *)&script_path, &info) != 0 && info.dli_fname != NULL) {
        snprintf(beside, sizeof beside, "%s", info.dli_fname);
        char *slash = strrchr(beside, '/');
        if (slash != NULL) {
            snprintf(slash + 1, sizeof beside - (size_t)(slash + 1 - beside), "fake_nvml.script");
        } else {
            snprintf(beside, sizeof beside, "fake_nvml.script");
        }
    }
    return beside;
}

/* Copies the value of key=value (quoted or not) starting at p into out; returns the rest of the line. */
static char *read_value(char *p, char *out, size_t size)
{
    size_t n = 0;
    if (*p == '"') {
        p++;
        while (*p != '\0' && *p != '"') {
            if (n + 1 < size) out[n++] = *p;
            p++;
        }
        if (*p == '"') p++;
    } else {
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            if (n + 1 < size) out[n++] = *p;
            p++;
        }
    }
    out[n] = '\0';
    return p;
}

static char *skip_spaces(char *p)
{
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

static int is_end(char c) { return c == '\0' || c == '\n' || c == '\r' || c == '#'; }

static unsigned long long num(const char *s) { return strtoull(s, NULL, 10); }

static void gpu_defaults(struct fake_gpu *g, unsigned index)
{
    memset(g, 0, sizeof *g);
    g->magic = GPU_MAGIC;
    snprintf(g->uuid, sizeof g->uuid, "GPU-00000000-0000-0000-0000-%012u", index);
    snprintf(g->name, sizeof g->name, "Fake NVIDIA GPU");
    g->counter = 1;
    g->procutil = 1;
    g->stride = 24;
    g->mem_total = 80ull << 30;
}

static void parse_line(char *line)
{
    char word[32], key[32], value[96];
    char *p = skip_spaces(line);
    if (is_end(*p)) return;
    p = read_value(p, word, sizeof word);

    if (strcmp(word, "init_fail") == 0) {
        S.init_fail = 1;
        return;
    }
    if (strcmp(word, "driver") == 0) {
        p = skip_spaces(p);
        read_value(p, S.driver, sizeof S.driver);
        return;
    }

    p = skip_spaces(p);
    unsigned gpu = (unsigned)strtoul(p, &p, 10);
    if (gpu >= MAX_GPUS) return;
    unsigned instance = 0;
    if (strcmp(word, "mig") == 0) {
        p = skip_spaces(p);
        instance = (unsigned)strtoul(p, &p, 10);
        if (instance >= MAX_MIG) return;
    }

    struct fake_gpu *g = &S.gpus[gpu];
    struct fake_mig *m = &S.migs[gpu][instance];
    struct fake_proc proc = { gpu, 0, 0, 0 };
    struct fake_sample sample = { gpu, 0, 0, 0, 0, 0, 0 };
    if (strcmp(word, "gpu") == 0) {
        gpu_defaults(g, gpu);
        if (gpu + 1 > S.ngpus) S.ngpus = gpu + 1;
    } else if (strcmp(word, "mig") == 0) {
        memset(m, 0, sizeof *m);
        m->magic = MIG_MAGIC;
        m->present = 1;
        m->gpu = gpu;
        m->slices = 1;
    } else if (strcmp(word, "proc") != 0 && strcmp(word, "sample") != 0) {
        return;
    }

    for (;;) {
        p = skip_spaces(p);
        if (is_end(*p)) break;
        size_t k = 0;
        while (*p != '\0' && *p != '=' && *p != ' ' && *p != '\n') {
            if (k + 1 < sizeof key) key[k++] = *p;
            p++;
        }
        key[k] = '\0';
        if (*p != '=') continue;
        p = read_value(p + 1, value, sizeof value);

        if (strcmp(word, "gpu") == 0) {
            if (strcmp(key, "uuid") == 0) snprintf(g->uuid, sizeof g->uuid, "%s", value);
            else if (strcmp(key, "name") == 0) snprintf(g->name, sizeof g->name, "%s", value);
            else if (strcmp(key, "energy_mj") == 0) g->energy_mj = num(value);
            else if (strcmp(key, "power_mw") == 0) g->power_mw = (unsigned)num(value);
            else if (strcmp(key, "counter") == 0) g->counter = (int)num(value);
            else if (strcmp(key, "lost") == 0) g->lost = (int)num(value);
            else if (strcmp(key, "procutil") == 0) g->procutil = (int)num(value);
            else if (strcmp(key, "util") == 0) g->util = (unsigned)num(value);
            else if (strcmp(key, "mem_util") == 0) g->mem_util = (unsigned)num(value);
            else if (strcmp(key, "mem_used") == 0) g->mem_used = num(value);
            else if (strcmp(key, "mem_total") == 0) g->mem_total = num(value);
            else if (strcmp(key, "mig") == 0) g->mig = (int)num(value);
            else if (strcmp(key, "max_mig") == 0) g->max_mig = (unsigned)num(value);
            else if (strcmp(key, "stride") == 0) g->stride = num(value) == 32 ? 32 : 24;
        } else if (strcmp(word, "mig") == 0) {
            if (strcmp(key, "slices") == 0) m->slices = (unsigned)num(value);
            else if (strcmp(key, "ci_slices") == 0) m->ci_slices = (unsigned)num(value);
            else if (strcmp(key, "pids") == 0) {
                char *q = value;
                while (*q != '\0' && m->npids < MAX_MIG_PIDS) {
                    m->pids[m->npids++] = (unsigned)strtoul(q, &q, 10);
                    if (*q == ',') q++;
                    else break;
                }
            }
        } else if (strcmp(word, "proc") == 0) {
            if (strcmp(key, "pid") == 0) proc.pid = (unsigned)num(value);
            else if (strcmp(key, "kind") == 0) proc.graphics = strcmp(value, "graphics") == 0;
            else if (strcmp(key, "mem") == 0) proc.mem = num(value);
        } else {
            if (strcmp(key, "pid") == 0) sample.pid = (unsigned)num(value);
            else if (strcmp(key, "ts") == 0) sample.ts = strcmp(value, "now") == 0 ? TS_NOW : num(value);
            else if (strcmp(key, "sm") == 0) sample.sm = (unsigned)num(value);
            else if (strcmp(key, "mem") == 0) sample.mem = (unsigned)num(value);
            else if (strcmp(key, "enc") == 0) sample.enc = (unsigned)num(value);
            else if (strcmp(key, "dec") == 0) sample.dec = (unsigned)num(value);
        }
    }

    if (strcmp(word, "mig") == 0 && m->ci_slices == 0) m->ci_slices = m->slices;
    if (strcmp(word, "proc") == 0 && S.nprocs < MAX_PROCS) S.procs[S.nprocs++] = proc;
    if (strcmp(word, "sample") == 0 && S.nsamples < MAX_SAMPLES) S.samples[S.nsamples++] = sample;
}

/* Re-reads the script when it changed (inode, size or times), so a test can change the GPUs between reads. */
static void refresh(void)
{
    const char *path = script_path();
    struct stat st;
    if (stat(path, &st) != 0) {
        S.script_present = 0;
        S.seen_valid = 0;
        return;
    }
    if (S.seen_valid && st.st_ino == S.seen.st_ino && st.st_size == S.seen.st_size
        && st.st_mtim.tv_sec == S.seen.st_mtim.tv_sec && st.st_mtim.tv_nsec == S.seen.st_mtim.tv_nsec
        && st.st_ctim.tv_sec == S.seen.st_ctim.tv_sec && st.st_ctim.tv_nsec == S.seen.st_ctim.tv_nsec) {
        return;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        S.script_present = 0;
        S.seen_valid = 0;
        return;
    }

    /* Handles are pointers into these arrays: they stay valid when the script changes. */
    unsigned long long last_seen[MAX_GPUS];
    for (unsigned i = 0; i < MAX_GPUS; i++) last_seen[i] = S.gpus[i].last_seen;
    memset(S.gpus, 0, sizeof S.gpus);
    memset(S.migs, 0, sizeof S.migs);
    S.ngpus = S.nprocs = S.nsamples = 0;
    S.init_fail = 0;
    snprintf(S.driver, sizeof S.driver, "999.99.99-fake");

    char line[1024];
    while (fgets(line, sizeof line, f) != NULL) parse_line(line);
    fclose(f);
    for (unsigned i = 0; i < MAX_GPUS; i++) S.gpus[i].last_seen = last_seen[i];
    S.script_present = 1;
    S.seen = st;
    S.seen_valid = 1;
}

static struct fake_gpu *as_gpu(nvmlDevice_t device)
{
    struct fake_gpu *g = device;
    return g != NULL && g->magic == GPU_MAGIC ? g : NULL;
}

static struct fake_mig *as_mig(nvmlDevice_t device)
{
    struct fake_mig *m = (struct fake_mig *)(void *)device;
    return m != NULL && m->magic == MIG_MAGIC && m->present ? m : NULL;
}

/* Common entry checks for a call on a physical GPU: initialized, a handle of ours, not lost. */
#define ENTER_GPU(device, g)                                      \
    refresh();                                                    \
    if (S.initialized <= 0) return NVML_ERROR_UNINITIALIZED;      \
    struct fake_gpu *g = as_gpu(device);                          \
    if (g == NULL) return NVML_ERROR_INVALID_ARGUMENT;            \
    if (g->lost) return NVML_ERROR_GPU_IS_LOST

static nvmlReturn_t copy_string(const char *value, char *out, unsigned length)
{
    if (out == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(value) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(out, value, strlen(value) + 1);
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlInit_v2(void)
{
    refresh();
    if (!S.script_present || S.init_fail) return NVML_ERROR_DRIVER_NOT_LOADED;
    S.initialized++;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlShutdown(void)
{
    if (S.initialized <= 0) return NVML_ERROR_UNINITIALIZED;
    S.initialized--;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
    refresh();
    if (S.initialized <= 0) return NVML_ERROR_UNINITIALIZED;
    return copy_string(S.driver, version, length);
}

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
    refresh();
    if (S.initialized <= 0) return NVML_ERROR_UNINITIALIZED;
    if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *count = S.ngpus;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    refresh();
    if (S.initialized <= 0) return NVML_ERROR_UNINITIALIZED;
    if (device == NULL || index >= S.ngpus || S.gpus[index].magic != GPU_MAGIC) return NVML_ERROR_INVALID_ARGUMENT;
    if (S.gpus[index].lost) return NVML_ERROR_GPU_IS_LOST;
    *device = &S.gpus[index];
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
    ENTER_GPU(device, g);
    return copy_string(g->uuid, uuid, length);
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    ENTER_GPU(device, g);
    return copy_string(g->name, name, length);
}

#ifndef FAKE_NVML_OLD_DRIVER
EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy)
{
    ENTER_GPU(device, g);
    if (energy == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (!g->counter) return NVML_ERROR_NOT_SUPPORTED;
    *energy = g->energy_mj;
    return NVML_SUCCESS;
}
#endif

EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
    ENTER_GPU(device, g);
    if (power == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *power = g->power_mw;
    return NVML_SUCCESS;
}

#ifndef FAKE_NVML_OLD_DRIVER
/* A sample scripted with ts=now is taken at the call, as a driver that samples continuously would:
   every call after some time has passed sees it again, whatever the script's timing. */
static unsigned long long sample_ts(const struct fake_sample *s, unsigned long long now)
{
    return s->ts == TS_NOW ? now : s->ts;
}

EXPORT nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t device, nvmlProcessUtilizationSample_t *utilization,
                                                    unsigned int *sampleCount, unsigned long long lastSeenTimeStamp)
{
    ENTER_GPU(device, g);
    if (sampleCount == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (!g->procutil || g->mig) return NVML_ERROR_NOT_SUPPORTED;
    g->last_seen = lastSeenTimeStamp;
    unsigned gpu = (unsigned)(g - S.gpus);
    struct timespec clock;
    clock_gettime(CLOCK_REALTIME, &clock);
    unsigned long long now = (unsigned long long)clock.tv_sec * 1000000ULL + (unsigned long long)clock.tv_nsec / 1000ULL;
    unsigned n = 0;
    for (unsigned i = 0; i < S.nsamples; i++) {
        if (S.samples[i].gpu == gpu && sample_ts(&S.samples[i], now) > lastSeenTimeStamp) n++;
    }
    if (n == 0) {
        *sampleCount = 0;
        return NVML_ERROR_NOT_FOUND;
    }
    if (utilization == NULL || *sampleCount < n) {
        *sampleCount = n;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    unsigned w = 0;
    for (unsigned i = 0; i < S.nsamples; i++) {
        const struct fake_sample *s = &S.samples[i];
        if (s->gpu != gpu || sample_ts(s, now) <= lastSeenTimeStamp) continue;
        nvmlProcessUtilizationSample_t out = { s->pid, sample_ts(s, now), s->sm, s->mem, s->enc, s->dec };
        utilization[w++] = out;
    }
    *sampleCount = n;
    return NVML_SUCCESS;
}
#endif

/* Writes nvmlProcessInfo_t records, 24 bytes each, or 32 as R535 drivers do (usedGpuCcProtectedMemory@24). */
static nvmlReturn_t write_processes(unsigned *count, unsigned char *out, int stride, const unsigned *pids,
                                    const unsigned long long *mems, unsigned n, unsigned gi, unsigned ci)
{
    if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (*count < n || (n > 0 && out == NULL)) {
        *count = n;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    for (unsigned i = 0; i < n; i++) {
        unsigned char *r = out + (size_t)i * (size_t)stride;
        unsigned zero = 0;
        unsigned long long mem = mems != NULL ? mems[i] : 0, protected_mem = 0;
        memcpy(r + 0, &pids[i], 4);
        memcpy(r + 4, &zero, 4);
        memcpy(r + 8, &mem, 8);
        memcpy(r + 16, &gi, 4);
        memcpy(r + 20, &ci, 4);
        if (stride == 32) memcpy(r + 24, &protected_mem, 8);
    }
    *count = n;
    return NVML_SUCCESS;
}

static nvmlReturn_t running_processes(nvmlDevice_t device, unsigned *count, void *infos, int graphics)
{
    refresh();
    if (S.initialized <= 0) return NVML_ERROR_UNINITIALIZED;
    struct fake_mig *m = as_mig(device);
    if (m != NULL) {
        if (S.gpus[m->gpu].lost) return NVML_ERROR_GPU_IS_LOST;
        unsigned instance = (unsigned)(m - S.migs[m->gpu]);
        return write_processes(count, infos, S.gpus[m->gpu].stride, m->pids, NULL, graphics ? 0 : m->npids, instance, 0);
    }
    struct fake_gpu *g = as_gpu(device);
    if (g == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (g->lost) return NVML_ERROR_GPU_IS_LOST;
    unsigned gpu = (unsigned)(g - S.gpus);
    static unsigned pids[MAX_PROCS];
    static unsigned long long mems[MAX_PROCS];
    unsigned n = 0;
    for (unsigned i = 0; i < S.nprocs; i++) {
        if (S.procs[i].gpu == gpu && S.procs[i].graphics == graphics) {
            pids[n] = S.procs[i].pid;
            mems[n] = S.procs[i].mem;
            n++;
        }
    }
    return write_processes(count, infos, g->stride, pids, mems, n, 0xFFFFFFFFu, 0xFFFFFFFFu);
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount, void *infos)
{
    return running_processes(device, infoCount, infos, 0);
}

EXPORT nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount, void *infos)
{
    return running_processes(device, infoCount, infos, 1);
}

EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization)
{
    ENTER_GPU(device, g);
    if (utilization == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (g->mig) return NVML_ERROR_NOT_SUPPORTED;
    utilization->gpu = g->util;
    utilization->memory = g->mem_util;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    ENTER_GPU(device, g);
    if (memory == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    memory->total = g->mem_total;
    memory->used = g->mem_used;
    memory->free = g->mem_total > g->mem_used ? g->mem_total - g->mem_used : 0;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode)
{
    ENTER_GPU(device, g);
    if (currentMode == NULL || pendingMode == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *currentMode = *pendingMode = g->mig ? 1u : 0u;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int *count)
{
    ENTER_GPU(device, g);
    if (count == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *count = g->max_mig;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index, nvmlDevice_t *migDevice)
{
    ENTER_GPU(device, g);
    if (migDevice == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (!g->mig) return NVML_ERROR_NOT_SUPPORTED;
    if (index >= g->max_mig || index >= MAX_MIG) return NVML_ERROR_INVALID_ARGUMENT;
    struct fake_mig *m = &S.migs[g - S.gpus][index];
    if (!m->present) return NVML_ERROR_NOT_FOUND;
    *migDevice = (nvmlDevice_t)(void *)m;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetAttributes_v2(nvmlDevice_t device, nvmlDeviceAttributes_t *attributes)
{
    refresh();
    if (S.initialized <= 0) return NVML_ERROR_UNINITIALIZED;
    if (attributes == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    memset(attributes, 0, sizeof *attributes);
    struct fake_mig *m = as_mig(device);
    if (m != NULL) {
        if (S.gpus[m->gpu].lost) return NVML_ERROR_GPU_IS_LOST;
        attributes->multiprocessorCount = 14 * m->ci_slices;
        attributes->gpuInstanceSliceCount = m->slices;
        attributes->computeInstanceSliceCount = m->ci_slices;
        attributes->memorySizeMB = 10240ull * m->slices;
        return NVML_SUCCESS;
    }
    struct fake_gpu *g = as_gpu(device);
    if (g == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (g->lost) return NVML_ERROR_GPU_IS_LOST;
    attributes->multiprocessorCount = 132;
    attributes->memorySizeMB = g->mem_total >> 20;
    return NVML_SUCCESS;
}

/* Test hooks, not NVML: how many nvmlInit_v2 calls are not yet shut down, and the lastSeenTimeStamp a GPU was last asked for. */
EXPORT int fake_nvml_init_count(void) { return S.initialized; }

EXPORT unsigned long long fake_nvml_last_seen_timestamp(unsigned int gpu)
{
    return gpu < MAX_GPUS ? S.gpus[gpu].last_seen : 0;
}
