/* outputs: the table of --out kinds (see report.h). One row per format; each writer lives in a
 * file of its own (report_json.c, ...). */
#include <string.h>

#include "report.h"

static const report_kind kinds[] = {
    {"json", report_json},
    {"junit", report_junit},
    {"k6-summary", report_k6},
    {"markdown", report_md},
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

const report_kind *report_kind_find(const char *name)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

const char *report_kind_names(void)
{
    static char names[256];
    if (!names[0])
        for (size_t i = 0; i < NKINDS; i++) {
            if (i)
                strcat(names, ", ");
            strcat(names, kinds[i].name);
        }
    return names;
}
