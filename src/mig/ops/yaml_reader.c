#include "yaml_reader.h"

int ofm_yaml_next(ofm_yaml_rd *r)
{
    if (r->have)
        yaml_event_delete(&r->ev);
    r->have = false;
    if (!yaml_parser_parse(&r->p, &r->ev))
        return ofm_error_set(r->err, r->origin, (unsigned)r->p.problem_mark.line + 1,
                             "YAML syntax: %s", r->p.problem ? r->p.problem : "error");
    r->have = true;
    if (r->ev.type == YAML_ALIAS_EVENT)
        return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "YAML aliases are not supported");
    return 0;
}

int ofm_yaml_open(ofm_yaml_rd *r, const char *buf, size_t len, const char *origin, ofm_error *err,
                  const char *fields)
{
    *r = (ofm_yaml_rd){.origin = origin, .err = err};
    if (!yaml_parser_initialize(&r->p))
        return ofm_error_set(err, origin, 0, "out of memory");
    r->live = true;
    yaml_parser_set_input_string(&r->p, (const unsigned char *)buf, len);
    static const yaml_event_type_t want[] = {YAML_STREAM_START_EVENT, YAML_DOCUMENT_START_EVENT,
                                             YAML_MAPPING_START_EVENT};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (ofm_yaml_next(r))
            return -1;
        if (r->ev.type != want[i])
            return ofm_error_set(err, origin, ofm_yaml_line(r), "expected a mapping with %s", fields);
    }
    return 0;
}

int ofm_yaml_end(ofm_yaml_rd *r)
{
    if (ofm_yaml_next(r))
        return -1;
    if (r->ev.type == YAML_DOCUMENT_END_EVENT && ofm_yaml_next(r))
        return -1;
    if (r->ev.type != YAML_STREAM_END_EVENT)
        return ofm_error_set(r->err, r->origin, ofm_yaml_line(r), "one YAML document only");
    return 0;
}

void ofm_yaml_close(ofm_yaml_rd *r)
{
    if (r->have)
        yaml_event_delete(&r->ev);
    r->have = false;
    if (r->live)
        yaml_parser_delete(&r->p);
    r->live = false;
}
