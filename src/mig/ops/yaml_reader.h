/* A pull reader over libyaml events that the MIG config and hooks parsers
 * share: one event at a time, its line for file:line errors, and aliases
 * refused (they would let a small file expand without bound). */
#ifndef OPENFM_MIG_YAML_READER_H
#define OPENFM_MIG_YAML_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "openfm/error.h"

typedef struct {
    yaml_parser_t p;
    yaml_event_t ev;
    bool have;          /* ev holds an event to delete before the next */
    bool live;          /* p was initialised */
    const char *origin; /* file name for errors */
    ofm_error *err;
} ofm_yaml_rd;

/* Start reading buf: the stream, its document and the top-level mapping,
 * which holds `fields` (named in the error when it is missing). 0, or -1
 * with the error set; ofm_yaml_close() is due either way. */
int ofm_yaml_open(ofm_yaml_rd *r, const char *buf, size_t len, const char *origin, ofm_error *err,
                  const char *fields);
/* Advance to the next event; 0, or an error located at the bad line. */
int ofm_yaml_next(ofm_yaml_rd *r);
/* After the top-level mapping: the end of its document and of the stream
 * (one document per file). 0, or -1 with the error set. */
int ofm_yaml_end(ofm_yaml_rd *r);
void ofm_yaml_close(ofm_yaml_rd *r);

static inline unsigned ofm_yaml_line(const ofm_yaml_rd *r)
{
    return (unsigned)r->ev.start_mark.line + 1;
}

static inline const char *ofm_yaml_scalar(const ofm_yaml_rd *r)
{
    return (const char *)r->ev.data.scalar.value;
}

#endif
