/* schedstat: see include/schedstat.h. */
#include "schedstat.h"

#include <dirent.h>
#include <stdio.h>

/* The second field of one schedstat file, or 0. */
static uint64_t wait_of(const char *path)
{
    FILE *f = fopen(path, "re");
    unsigned long long run_ns, wait_ns;
    uint64_t r = f && fscanf(f, "%llu %llu", &run_ns, &wait_ns) == 2 ? (uint64_t)wait_ns : 0;
    if (f)
        fclose(f);
    return r;
}

uint64_t schedstat_thread_wait_ns(void)
{
    return wait_of("/proc/thread-self/schedstat");
}

uint64_t schedstat_process_wait_ns(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return 0;
    uint64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%.20s/schedstat", e->d_name);
        sum += wait_of(path);
    }
    closedir(d);
    return sum;
}
