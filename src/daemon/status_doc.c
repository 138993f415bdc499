#include "daemon/status_doc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openfm/fileio.h"

int ofm_status_write(const char *path, const char *json, ofm_error *err)
{
    size_t n = strlen(json);
    char *doc = malloc(n + 2);
    if (!doc)
        return ofm_error_set(err, path, 0, "out of memory");
    memcpy(doc, json, n);
    doc[n] = '\n';
    /* O_EXCL|O_NOFOLLOW temp + rename; no fsync: the document is a view that
     * is rewritten at every start, so losing it in a power cut costs nothing */
    int rc = ofm_file_write_atomic(path, doc, n + 1, 0644, OFM_FILE_NOSYNC, err);
    free(doc);
    return rc;
}
