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
