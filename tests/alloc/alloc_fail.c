#include "alloc_fail.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static atomic_ulong g_calls, g_fail_at;
static atomic_bool g_failed;

void alloc_fail_at(unsigned long n)
{
    atomic_store(&g_fail_at, 0);
    atomic_store(&g_calls, 0);
    atomic_store(&g_failed, false);
    atomic_store(&g_fail_at, n);
}

unsigned long alloc_calls(void) { return atomic_load(&g_calls); }

bool alloc_failed(void) { return atomic_load(&g_failed); }

/* true: this call must fail */
static bool count(void)
{
    unsigned long k = atomic_fetch_add(&g_calls, 1) + 1;
    unsigned long at = atomic_load(&g_fail_at);
    if (at && k == at) {
        atomic_store(&g_failed, true);
        errno = ENOMEM;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t n) { return count() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return count() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return count() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return count() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return count() ? NULL : __real_strndup(s, n); }
